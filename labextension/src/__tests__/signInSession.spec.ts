import { MsalApiError } from '../api';
import { SignInSession } from '../model/signInSession';
import { ADA, FakeClient, ImmediateTimers, flow, flush } from './helpers';

function setup(options: { wait?: number } = {}) {
  const client = new FakeClient();
  const timers = new ImmediateTimers();
  let now = 1000;
  const session = new SignInSession({
    client,
    method: 'auto',
    wait: options.wait ?? 10,
    retryDelay: 1000,
    timers,
    now: () => now
  });
  const phases: string[] = [];
  session.changed.connect(() => {
    if (phases[phases.length - 1] !== session.phase) {
      phases.push(session.phase);
    }
  });
  return {
    client,
    timers,
    session,
    phases,
    setNow: (t: number) => {
      now = t;
    },
    advance: (s: number) => {
      now += s;
    }
  };
}

describe('SignInSession', () => {
  it('goes pending then succeeded, long-polling with wait=10', async () => {
    const { client, session, phases, advance } = setup();
    client.startAnswers.push(flow());
    client.getAnswers.push(
      () => {
        advance(10);
        return flow();
      },
      () => {
        advance(3);
        return flow({ state: 'succeeded', account: ADA });
      }
    );
    const final = await session.start();
    expect(final).toBe('succeeded');
    expect(phases).toEqual(['starting', 'pending', 'succeeded']);
    expect(client.lastStart).toEqual({ method: 'auto', scopes: undefined });
    expect(client.lastWait).toBe(10);
    expect(client.calls).toEqual([
      'startSignIn',
      'getSignIn:f1',
      'getSignIn:f1'
    ]);
    expect(session.flow?.account?.username).toBe('ada@contoso.com');
    expect(session.error).toBeNull();
    expect(session.isDone).toBe(true);
  });

  it('shows the time left until the code expires', async () => {
    const { client, session, setNow } = setup();
    client.startAnswers.push(flow({ expires_on: 1900 }));
    client.getAnswers.push(() => new Promise(() => undefined));
    void session.start();
    await flush();
    expect(session.phase).toBe('pending');
    expect(session.secondsLeft()).toBe(900);
    setNow(1850);
    expect(session.secondsLeft()).toBe(50);
    setNow(5000);
    expect(session.secondsLeft()).toBe(0);
  });

  it('reports a declined sign-in as failed with the server error', async () => {
    const { client, session } = setup();
    client.startAnswers.push(flow());
    client.getAnswers.push(
      flow({
        state: 'failed',
        error: {
          error: 'authorization_declined',
          message: 'The user declined.'
        }
      })
    );
    expect(await session.start()).toBe('failed');
    expect(session.error?.error).toBe('authorization_declined');
  });

  it('reports an expired code', async () => {
    const { client, session } = setup();
    client.startAnswers.push(flow());
    client.getAnswers.push(flow({ state: 'expired' }));
    expect(await session.start()).toBe('expired');
    expect(session.error?.error).toBe('expired_token');
  });

  it('fails at once when the sign-in cannot start (broker unavailable)', async () => {
    const { client, session } = setup();
    client.startAnswers.push(
      new MsalApiError(409, {
        error: 'broker_unavailable',
        message: 'No broker here.'
      })
    );
    expect(await session.start()).toBe('error');
    expect(session.error?.error).toBe('broker_unavailable');
    expect(client.calls).toEqual(['startSignIn']);
  });

  it('cancels: aborts the poll and DELETEs the flow', async () => {
    const { client, session } = setup();
    client.startAnswers.push(flow());
    let signal: AbortSignal | undefined;
    client.getAnswers.push(() => {
      signal = client.lastSignal;
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => {
          const e = new Error('aborted');
          e.name = 'AbortError';
          reject(e);
        });
      });
    });
    client.cancelAnswers.push(flow({ state: 'cancelled' }));
    void session.start();
    await flush();
    expect(session.phase).toBe('pending');
    await session.cancel();
    expect(signal?.aborted).toBe(true);
    expect(session.phase).toBe('cancelled');
    expect(await session.done).toBe('cancelled');
    expect(client.calls).toContain('cancelSignIn:f1');
    await flush();
    expect(client.calls.filter(c => c.startsWith('getSignIn'))).toHaveLength(1);
  });

  it('cancelling while the start request is in flight cancels the new flow', async () => {
    const { client, session } = setup();
    let release: (f: any) => void = () => undefined;
    client.startAnswers.push(() => new Promise(resolve => (release = resolve)));
    client.cancelAnswers.push(flow({ state: 'cancelled' }));
    const started = session.start();
    await flush();
    await session.cancel();
    release(flow());
    expect(await started).toBe('cancelled');
    await flush();
    expect(client.calls).toEqual(['startSignIn', 'cancelSignIn:f1']);
  });

  it('retries transient errors with backoff', async () => {
    const { client, timers, session } = setup();
    client.startAnswers.push(flow());
    client.getAnswers.push(
      new MsalApiError(0, { message: 'offline' }),
      new MsalApiError(503, { error: 'x', message: 'busy' }),
      flow({ state: 'succeeded', account: ADA })
    );
    expect(await session.start()).toBe('succeeded');
    expect(timers.delays).toEqual([1000, 2000]);
  });

  it('gives up on a flow the server no longer knows', async () => {
    const { client, session } = setup();
    client.startAnswers.push(flow());
    client.getAnswers.push(
      new MsalApiError(404, { error: 'not_found', message: 'unknown' })
    );
    expect(await session.start()).toBe('error');
    expect(session.error?.message).toMatch(/no longer knows/);
  });

  it('gives up retrying once the code has expired', async () => {
    const { client, session, setNow } = setup();
    client.startAnswers.push(flow({ expires_on: 1100 }));
    client.getAnswers.push(() => {
      setNow(1200);
      throw new MsalApiError(0, { message: 'offline' });
    });
    expect(await session.start()).toBe('error');
    expect(session.error?.error).toBe('network_error');
  });

  it('does not spin when the server answers pending at once', async () => {
    const { client, timers, session } = setup({ wait: 10 });
    client.startAnswers.push(flow());
    client.getAnswers.push(
      flow(),
      flow(),
      flow({ state: 'succeeded', account: ADA })
    );
    expect(await session.start()).toBe('succeeded');
    // two pending answers without any wait: two pauses of a second
    expect(timers.delays).toEqual([1000, 1000]);
  });

  it('start() twice does not start two flows', async () => {
    const { client, session } = setup();
    client.startAnswers.push(flow());
    client.getAnswers.push(flow({ state: 'succeeded', account: ADA }));
    const a = session.start();
    const b = session.start();
    expect(await a).toBe('succeeded');
    expect(await b).toBe('succeeded');
    expect(client.calls.filter(c => c === 'startSignIn')).toHaveLength(1);
  });
});

import { MsalApiError } from '../api';
import { AccountsModel, nextPollDelay } from '../model';
import {
  ADA,
  BOB,
  FakeClient,
  FakeVisibility,
  ManualTimers,
  flush,
  status
} from './helpers';

function setup(hidden = false) {
  const client = new FakeClient();
  const timers = new ManualTimers();
  const visibility = new FakeVisibility();
  visibility.hidden = hidden;
  const model = new AccountsModel({
    client,
    timers,
    visibility,
    pollInterval: 5000,
    errorDelay: 5000,
    maxDelay: 60000
  });
  let changes = 0;
  model.changed.connect(() => changes++);
  return { client, timers, visibility, model, changes: () => changes };
}

const down = () =>
  new MsalApiError(0, { error: 'network_error', message: 'down' });

describe('nextPollDelay', () => {
  it('polls at the interval while healthy and backs off on errors', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 50].map(n =>
      nextPollDelay(n, 5000, 5000, 60000)
    );
    expect(delays).toEqual([
      5000, 5000, 10000, 20000, 40000, 60000, 60000, 60000
    ]);
  });
});

describe('AccountsModel', () => {
  it('starts in loading and polls at once', async () => {
    const { client, model } = setup();
    client.accountsAnswers.push({ accounts: [ADA], revision: 1 });
    expect(model.state).toBe('loading');
    model.start();
    await flush();
    expect(client.calls).toEqual(['accounts']);
    expect(model.state).toBe('ok');
    expect(model.accounts).toEqual([ADA]);
    expect(model.revision).toBe(1);
    expect(model.scheduledDelay).toBe(5000);
  });

  it('emits changed only when the revision or accounts change', async () => {
    const { client, timers, model, changes } = setup();
    client.accountsAnswers.push(
      { accounts: [], revision: 3 },
      { accounts: [], revision: 3 },
      { accounts: [ADA], revision: 4 }
    );
    model.start();
    await flush();
    expect(changes()).toBe(1);
    timers.runNext();
    await flush();
    expect(changes()).toBe(1);
    timers.runNext();
    await flush();
    expect(changes()).toBe(2);
    expect(model.accounts.map(a => a.username)).toEqual(['ada@contoso.com']);
  });

  it('follows a sign-in made elsewhere (kernel, CLI) on the next poll', async () => {
    const { client, timers, model } = setup();
    client.accountsAnswers.push({ accounts: [], revision: 0 });
    model.start();
    await flush();
    expect(model.accounts).toHaveLength(0);
    client.accountsAnswers.push({ accounts: [ADA, BOB], revision: 2 });
    expect(timers.runNext()).toBe(5000);
    await flush();
    expect(model.accounts).toHaveLength(2);
  });

  it('backs off on errors and recovers', async () => {
    const { client, timers, model } = setup();
    client.accountsAnswers.push(down(), down(), down(), down(), down(), down());
    client.accountsAnswers.push({ accounts: [ADA], revision: 1 });
    model.start();
    await flush();
    expect(model.state).toBe('error');
    expect(model.lastError?.status).toBe(0);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(timers.runNext());
      await flush();
    }
    expect(delays).toEqual([5000, 10000, 20000, 40000, 60000, 60000]);
    expect(model.state).toBe('ok');
    expect(model.failures).toBe(0);
    expect(model.lastError).toBeNull();
    expect(model.scheduledDelay).toBe(5000);
  });

  it('keeps the last known accounts while the server is unreachable', async () => {
    const { client, timers, model } = setup();
    client.accountsAnswers.push({ accounts: [ADA], revision: 1 }, down());
    model.start();
    await flush();
    timers.runNext();
    await flush();
    expect(model.state).toBe('error');
    expect(model.accounts).toEqual([ADA]);
  });

  it('reports a missing server extension as unavailable and polls slowly', async () => {
    const { client, model } = setup();
    client.accountsAnswers.push(
      new MsalApiError(404, { error: 'not_found', message: 'x' })
    );
    model.start();
    await flush();
    expect(model.state).toBe('unavailable');
    expect(model.scheduledDelay).toBe(60000);
  });

  it('stops polling while the page is hidden and resumes when visible', async () => {
    const { client, timers, visibility, model } = setup();
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await flush();
    expect(timers.pending).toBe(1);
    visibility.set(true);
    expect(timers.pending).toBe(0);
    expect(model.isPolling).toBe(false);
    const before = client.calls.length;
    await flush();
    expect(client.calls.length).toBe(before);
    visibility.set(false);
    await flush();
    expect(client.calls.length).toBe(before + 1);
    expect(model.isPolling).toBe(true);
    expect(timers.pending).toBe(1);
  });

  it('does not poll when started on a hidden page', async () => {
    const { client, visibility, model } = setup(true);
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await flush();
    expect(client.calls).toEqual([]);
    visibility.set(false);
    await flush();
    expect(client.calls).toEqual(['accounts']);
  });

  it('shares one request between concurrent refreshes', async () => {
    const { client, model } = setup();
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await Promise.all([model.refresh(), model.refresh(), model.refresh()]);
    expect(client.calls).toEqual(['accounts']);
  });

  it('applies sign-out answers at once', async () => {
    const { client, model } = setup();
    client.accountsAnswers.push({ accounts: [ADA, BOB], revision: 5 });
    model.start();
    await flush();
    client.signOutAnswers.push({
      removed: [ADA],
      accounts: [BOB],
      revision: 6
    });
    const removed = await model.signOut(ADA.home_account_id);
    expect(client.calls).toContain(`signOut:${ADA.home_account_id}`);
    expect(removed).toEqual([ADA]);
    expect(model.accounts).toEqual([BOB]);
    expect(model.revision).toBe(6);
    client.signOutAnswers.push({ removed: [BOB], accounts: [], revision: 7 });
    await model.signOutAll();
    expect(model.accounts).toEqual([]);
  });

  it('loads the status with configuration and accounts', async () => {
    const { client, model } = setup();
    client.statusAnswers.push(status({ accounts: [ADA], revision: 9 }));
    const answer = await model.loadStatus();
    expect(answer?.config?.['authority']).toMatch(/organizations/);
    expect(model.status).not.toBeNull();
    expect(model.accounts).toEqual([ADA]);
    expect(model.revision).toBe(9);
  });

  it('stops all timers when disposed', async () => {
    const { client, timers, model } = setup();
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await flush();
    model.dispose();
    expect(timers.pending).toBe(0);
    expect(model.isDisposed).toBe(true);
  });
});

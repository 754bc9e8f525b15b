import { MsalApiError } from '../api';
import { AccountsModel } from '../model/accounts';
import { ADA, BOB, countingClient, setPageHidden, status } from './helpers';

/** A model on a scripted client; `times` holds when each poll was sent. */
function setup() {
  const { client, times } = countingClient();
  const model = new AccountsModel({
    client,
    pollInterval: 5000,
    maxInterval: 60000
  });
  let changes = 0;
  model.changed.connect(() => changes++);
  const start = Date.now();
  return {
    client,
    model,
    changes: () => changes,
    /** When each poll was sent, in ms since the model was made. */
    sent: () => times.map(t => t - start),
    /** The pauses between polls. */
    gaps: () => times.slice(1).map((t, i) => t - times[i])
  };
}

const down = () =>
  new MsalApiError(0, { error: 'network_error', message: 'down' });

/** Let the poll run for `ms` of (fake) time. */
const elapse = (ms: number) => jest.advanceTimersByTimeAsync(ms);

describe('AccountsModel', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    setPageHidden(false);
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
    setPageHidden(false);
  });

  it('starts in loading, polls at once, then every interval', async () => {
    const { client, model, sent } = setup();
    client.accountsAnswers.push({ accounts: [ADA], revision: 1 });
    client.accountsFallback = { accounts: [ADA], revision: 1 };
    expect(model.state).toBe('loading');
    model.start();
    await elapse(0);
    expect(client.calls).toEqual(['accounts']);
    expect(model.state).toBe('ok');
    expect(model.accounts).toEqual([ADA]);
    expect(model.revision).toBe(1);
    await elapse(4999);
    expect(sent()).toEqual([0]);
    await elapse(10001);
    expect(sent()).toEqual([0, 5000, 10000, 15000]);
    model.dispose();
  });

  it('emits changed only when the revision or accounts change', async () => {
    const { client, model, changes } = setup();
    client.accountsAnswers.push(
      { accounts: [], revision: 3 },
      { accounts: [], revision: 3 },
      { accounts: [ADA], revision: 4 }
    );
    client.accountsFallback = { accounts: [ADA], revision: 4 };
    model.start();
    await elapse(0);
    expect(changes()).toBe(1);
    await elapse(5000);
    expect(changes()).toBe(1);
    await elapse(5000);
    expect(changes()).toBe(2);
    expect(model.accounts.map(a => a.username)).toEqual(['ada@contoso.com']);
    model.dispose();
  });

  it('follows a sign-in made elsewhere (kernel, CLI) on the next poll', async () => {
    const { client, model } = setup();
    client.accountsAnswers.push({ accounts: [], revision: 0 });
    model.start();
    await elapse(0);
    expect(model.accounts).toHaveLength(0);
    client.accountsFallback = { accounts: [ADA, BOB], revision: 2 };
    await elapse(5000);
    expect(model.accounts).toHaveLength(2);
    model.dispose();
  });

  it('backs off on errors up to the longest pause, and recovers', async () => {
    // the middle of the Poll's randomised range
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const { client, model, gaps } = setup();
    for (let i = 0; i < 10; i++) {
      client.accountsAnswers.push(down());
    }
    client.accountsFallback = { accounts: [ADA], revision: 1 };
    model.start();
    await elapse(0);
    expect(model.state).toBe('error');
    expect(model.lastError?.status).toBe(0);
    await elapse(10 * 60000);
    const pauses = gaps();
    const failing = pauses.slice(0, 10);
    // growing, never beyond the longest pause, and reaching it
    expect(failing).toEqual([...failing].sort((a, b) => a - b));
    expect(Math.max(...failing)).toBe(60000);
    expect(failing[failing.length - 1]).toBe(60000);
    // back at the normal pace once the server answers
    expect(pauses.slice(10, 12)).toEqual([5000, 5000]);
    expect(model.state).toBe('ok');
    expect(model.lastError).toBeNull();
    model.dispose();
  });

  it('keeps the last known accounts while the server is unreachable', async () => {
    const { client, model } = setup();
    client.accountsAnswers.push({ accounts: [ADA], revision: 1 }, down());
    client.accountsFallback = () => {
      throw down();
    };
    model.start();
    await elapse(0);
    await elapse(5000);
    expect(model.state).toBe('error');
    expect(model.accounts).toEqual([ADA]);
    model.dispose();
  });

  it('reports a missing server extension as unavailable and polls every minute', async () => {
    const { client, model, sent } = setup();
    const missing = () => {
      throw new MsalApiError(404, { error: 'not_found', message: 'x' });
    };
    client.accountsAnswers.push(missing, missing, missing);
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await elapse(0);
    expect(model.state).toBe('unavailable');
    await elapse(3 * 60000);
    expect(sent()).toEqual([0, 60000, 120000, 180000]);
    expect(model.state).toBe('ok');
    await elapse(5000);
    expect(sent()).toEqual([0, 60000, 120000, 180000, 185000]);
    model.dispose();
  });

  it('reports an inactive server extension as unavailable, with its reason', async () => {
    const { client, model, sent } = setup();
    const inactive = () => {
      throw new MsalApiError(503, {
        error: 'inactive',
        message: 'jupyter-msal is not active on this server: x'
      });
    };
    client.accountsAnswers.push(inactive, inactive);
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await elapse(0);
    expect(model.state).toBe('unavailable');
    expect(model.lastError?.message).toBe(
      'jupyter-msal is not active on this server: x'
    );
    await elapse(60000);
    expect(sent()).toEqual([0, 60000]);
    model.dispose();
  });

  it('stops polling while the page is hidden and polls at once when visible', async () => {
    const { client, model } = setup();
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await elapse(0);
    expect(client.calls).toHaveLength(1);
    setPageHidden(true);
    await elapse(5 * 60000);
    expect(client.calls).toHaveLength(1);
    setPageHidden(false);
    await elapse(0);
    expect(client.calls).toHaveLength(2);
    await elapse(5000);
    expect(client.calls).toHaveLength(3);
    model.dispose();
  });

  it('does not poll when started on a hidden page', async () => {
    setPageHidden(true);
    const { client, model } = setup();
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await elapse(60000);
    expect(client.calls).toEqual([]);
    setPageHidden(false);
    await elapse(0);
    expect(client.calls).toEqual(['accounts']);
    model.dispose();
  });

  it('shares one request between concurrent refreshes', async () => {
    const { client, model } = setup();
    client.accountsFallback = { accounts: [ADA], revision: 1 };
    model.start();
    const refreshed = Promise.all([
      model.refresh(),
      model.refresh(),
      model.refresh()
    ]);
    await elapse(0);
    await refreshed;
    expect(client.calls).toEqual(['accounts']);
    expect(model.accounts).toEqual([ADA]);
    model.dispose();
  });

  it('takes a new poll interval from the next pause on', async () => {
    const { client, model, sent } = setup();
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await elapse(0);
    model.pollInterval = 30000;
    expect(model.pollInterval).toBe(30000);
    await elapse(65000);
    expect(sent()).toEqual([0, 5000, 35000, 65000]);
    model.dispose();
  });

  it('applies sign-out answers at once', async () => {
    const { client, model } = setup();
    client.accountsAnswers.push({ accounts: [ADA, BOB], revision: 5 });
    model.start();
    await elapse(0);
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
    model.dispose();
  });

  it('loads the status with configuration and accounts', async () => {
    const { client, model } = setup();
    client.statusAnswers.push(status({ accounts: [ADA], revision: 9 }));
    const answer = await model.loadStatus();
    expect(answer?.config?.['authority']).toMatch(/organizations/);
    expect(model.status).not.toBeNull();
    expect(model.accounts).toEqual([ADA]);
    expect(model.revision).toBe(9);
    model.dispose();
  });

  it('stops polling when disposed', async () => {
    const { client, model } = setup();
    client.accountsFallback = { accounts: [], revision: 1 };
    model.start();
    await elapse(0);
    model.dispose();
    expect(model.isDisposed).toBe(true);
    await elapse(5 * 60000);
    expect(client.calls).toEqual(['accounts']);
    await model.refresh();
    expect(client.calls).toEqual(['accounts']);
  });
});

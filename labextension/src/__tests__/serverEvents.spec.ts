import type { Event } from '@jupyterlab/services';
import { Stream } from '@lumino/signaling';

import { AccountsModel, LISTENING_SLOWDOWN } from '../model/accounts';
import {
  changesAccounts,
  ServerEvents,
  SIGN_IN_EVENT,
  SIGN_OUT_EVENT
} from '../model/serverEvents';
import { ADA, BOB, countingClient, setPageHidden } from './helpers';

/** A stand-in for `app.serviceManager.events`: a stream the test emits on. */
function fakeEvents() {
  const owner = {} as Event.IManager;
  const stream = new Stream<Event.IManager, Event.Emission>(owner);
  return { stream } as unknown as Event.IManager & {
    stream: Stream<Event.IManager, Event.Emission>;
  };
}

/** A model polling every second on a scripted client; `sent` says when. */
function setup() {
  const { client, times } = countingClient();
  const model = new AccountsModel({
    client,
    pollInterval: 1000,
    maxInterval: 60000
  });
  const events = fakeEvents();
  const start = Date.now();
  return {
    client,
    model,
    events,
    sent: () => times.map(t => t - start)
  };
}

const elapse = (ms: number) => jest.advanceTimersByTimeAsync(ms);

describe('changesAccounts', () => {
  it('is true for a finished sign-in and a sign-out only', () => {
    const of = (schema_id: string, action?: string) =>
      changesAccounts({ schema_id, ...(action ? { action } : {}) });
    expect(of(SIGN_IN_EVENT, 'succeeded')).toBe(true);
    expect(of(SIGN_OUT_EVENT)).toBe(true);
    expect(of(SIGN_IN_EVENT, 'started')).toBe(false);
    expect(of(SIGN_IN_EVENT, 'failed')).toBe(false);
    expect(of('urn:jupyter-msal:events:token:v1', 'issued')).toBe(false);
    // Jupyter's own namespace is not ours
    expect(of('https://events.jupyter.org/jupyter_msal/sign_out/v1')).toBe(
      false
    );
  });
});

describe('ServerEvents', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    setPageHidden(false);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('refreshes at once on a sign-in event, and polls slowly meanwhile', async () => {
    const { client, model, events, sent } = setup();
    client.accountsAnswers.push({ accounts: [], revision: 1 });
    client.accountsFallback = { accounts: [ADA], revision: 2 };
    const listener = new ServerEvents(model, events);
    expect(model.listening).toBe(true);
    model.start();
    await elapse(0);
    expect(model.accounts).toEqual([]);

    events.stream.emit({ schema_id: SIGN_IN_EVENT, action: 'started' });
    await elapse(100);
    expect(sent()).toEqual([0]);
    events.stream.emit({
      schema_id: SIGN_IN_EVENT,
      action: 'succeeded',
      username: ADA.username
    });
    await elapse(0);
    expect(model.accounts).toEqual([ADA]);
    expect(sent()).toEqual([0, 100]);

    // the poll goes on, LISTENING_SLOWDOWN times slower: only a fallback
    await elapse(1000 * LISTENING_SLOWDOWN - 1);
    expect(sent()).toEqual([0, 100]);
    await elapse(1);
    expect(sent()).toEqual([0, 100, 100 + 1000 * LISTENING_SLOWDOWN]);
    expect(model.listening).toBe(true);
    listener.dispose();
    expect(model.listening).toBe(false);
    model.dispose();
  });

  it('refreshes on a sign-out event', async () => {
    const { client, model, events } = setup();
    client.accountsAnswers.push({ accounts: [ADA, BOB], revision: 3 });
    client.accountsFallback = { accounts: [BOB], revision: 4 };
    const listener = new ServerEvents(model, events);
    model.start();
    await elapse(0);
    events.stream.emit({ schema_id: SIGN_OUT_EVENT, username: ADA.username });
    await elapse(0);
    expect(model.accounts).toEqual([BOB]);
    listener.dispose();
    model.dispose();
  });

  it('polls at the normal pace when a poll finds what no event announced', async () => {
    const { client, model, events, sent } = setup();
    client.accountsAnswers.push({ accounts: [], revision: 1 });
    client.accountsFallback = { accounts: [ADA], revision: 2 };
    const listener = new ServerEvents(model, events);
    model.start();
    await elapse(1000 * LISTENING_SLOWDOWN);
    // the stream said nothing of this sign-in: it is not delivering
    expect(model.accounts).toEqual([ADA]);
    expect(model.listening).toBe(false);
    await elapse(1000);
    expect(sent().length).toBe(3);
    // an event shows the stream works again
    events.stream.emit({ schema_id: SIGN_OUT_EVENT, username: ADA.username });
    await elapse(0);
    expect(model.listening).toBe(true);
    listener.dispose();
    model.dispose();
  });

  it('leaves the model at its normal pace without an event manager', () => {
    const { model } = setup();
    const listener = new ServerEvents(model, undefined);
    expect(model.listening).toBe(false);
    listener.dispose();
    model.dispose();
  });
});

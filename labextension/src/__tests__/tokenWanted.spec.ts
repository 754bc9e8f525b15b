import { Notification } from '@jupyterlab/apputils';
import type { Event } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { Stream } from '@lumino/signaling';

import {
  NOTIFY_WINDOW_MS,
  TokenWantedNotifier,
  tokenWantedMessage
} from '../actions/tokenWanted';
import { AccountsModel } from '../model/accounts';
import {
  ITokenWanted,
  ServerEvents,
  SIGN_IN_EVENT,
  TOKEN_WANTED_EVENT,
  tokenWanted
} from '../model/serverEvents';
import { ADA, FakeClient } from './helpers';

const trans = nullTranslator.load('jupyter_msal');

const STORAGE: ITokenWanted = {
  resource: 'https://storage.azure.com',
  resource_name: 'Azure Storage',
  tool: 'azure_cli',
  via: 'managed_identity'
};
const VAULT: ITokenWanted = {
  resource: 'https://vault.azure.net',
  resource_name: 'Azure Key Vault',
  tool: 'kernel_or_terminal',
  via: 'rest'
};

/** The notifications showing: type and message. */
const shown = () =>
  Notification.manager.notifications.map(n => [n.type, n.message]);

/** A model that has loaded `accounts` once, a notifier on a clock of the test's. */
async function setup(accounts = [] as (typeof ADA)[]) {
  const client = new FakeClient();
  client.accountsFallback = { accounts, revision: 1 };
  const model = new AccountsModel({ client, pollInterval: 3_600_000 });
  await model.refresh();
  const clock = { now: 1_000_000 };
  const signIn = jest.fn();
  const notifier = new TokenWantedNotifier({
    model,
    signIn,
    trans,
    now: () => clock.now
  });
  return { client, model, clock, signIn, notifier };
}

describe('tokenWanted', () => {
  it('reads the fields of a token_wanted event only', () => {
    expect(
      tokenWanted({ schema_id: TOKEN_WANTED_EVENT, ...STORAGE, error: 'x' })
    ).toEqual(STORAGE);
    expect(
      tokenWanted({
        schema_id: TOKEN_WANTED_EVENT,
        resource: 'https://contoso.example',
        tool: 'other',
        via: 'rest'
      })
    ).toEqual({
      resource: 'https://contoso.example',
      tool: 'other',
      via: 'rest'
    });
    expect(tokenWanted({ schema_id: TOKEN_WANTED_EVENT, tool: 'az' })).toBe(
      null
    );
    expect(tokenWanted({ schema_id: SIGN_IN_EVENT, ...STORAGE })).toBe(null);
  });

  it('words who asked for what', () => {
    expect(tokenWantedMessage(STORAGE, trans)).toBe(
      'az asked for a token for Azure Storage, but nobody is signed in to Microsoft. Sign in, then run it again.'
    );
    expect(
      tokenWantedMessage(
        { resource: 'https://contoso.example', tool: 'terminal', via: 'rest' },
        trans
      )
    ).toMatch(/^A terminal asked for a token for https:\/\/contoso\.example,/);
  });
});

describe('ServerEvents.tokenWanted', () => {
  it('hands token_wanted events on, without refreshing the accounts', async () => {
    const client = new FakeClient();
    const model = new AccountsModel({ client });
    const stream = new Stream<Event.IManager, Event.Emission>(
      {} as Event.IManager
    );
    const events = new ServerEvents(model, {
      stream
    } as unknown as Event.IManager);
    const seen: ITokenWanted[] = [];
    events.tokenWanted.connect((_, wanted) => seen.push(wanted));
    stream.emit({ schema_id: TOKEN_WANTED_EVENT, ...STORAGE });
    stream.emit({ schema_id: 'urn:jupyter-msal:events:token:v1' });
    expect(seen).toEqual([STORAGE]);
    expect(client.calls).toEqual([]);
    events.dispose();
    model.dispose();
  });
});

describe('TokenWantedNotifier', () => {
  beforeEach(() => Notification.manager.dismiss());

  it('notifies once per resource per minute, with a Sign in button', async () => {
    const { clock, signIn, notifier, model } = await setup();
    const id = await notifier.notify(STORAGE);
    expect(id).not.toBe(null);
    expect(shown()).toEqual([['warning', tokenWantedMessage(STORAGE, trans)]]);
    const [action] = Notification.manager.notifications[0].options.actions!;
    expect(action.label).toBe('Sign in');
    action.callback(new MouseEvent('click'));
    expect(signIn).toHaveBeenCalledTimes(1);

    // the same resource within the minute, however spelled: nothing new
    clock.now += NOTIFY_WINDOW_MS - 1;
    expect(await notifier.notify({ ...STORAGE, tool: 'azcopy' })).toBe(null);
    expect(
      await notifier.notify({
        ...STORAGE,
        resource: 'https://STORAGE.azure.com/'
      })
    ).toBe(null);
    // another resource: its own notification
    expect(await notifier.notify(VAULT)).not.toBe(null);
    expect(shown().length).toBe(2);
    // a minute after the first: again
    clock.now += 1;
    expect(await notifier.notify(STORAGE)).not.toBe(null);
    expect(shown().length).toBe(3);
    notifier.dispose();
    model.dispose();
  });

  it('does not notify while an account is signed in', async () => {
    const { notifier, model } = await setup([ADA]);
    expect(await notifier.notify(STORAGE)).toBe(null);
    expect(shown()).toEqual([]);
    notifier.dispose();
    model.dispose();
  });

  it('asks for the accounts first when they are not known yet', async () => {
    const client = new FakeClient();
    client.accountsFallback = { accounts: [ADA], revision: 1 };
    const model = new AccountsModel({ client, pollInterval: 3_600_000 });
    const notifier = new TokenWantedNotifier({
      model,
      signIn: jest.fn(),
      trans
    });
    expect(await notifier.notify(STORAGE)).toBe(null);
    expect(client.calls).toEqual(['accounts']);
    expect(shown()).toEqual([]);
    notifier.dispose();
    model.dispose();
  });

  it('dismisses its notifications once someone signs in', async () => {
    const { client, notifier, model } = await setup();
    await notifier.notify(STORAGE);
    await notifier.notify(VAULT);
    Notification.info('something else');
    expect(shown().length).toBe(3);
    client.accountsFallback = { accounts: [ADA], revision: 2 };
    await model.refresh();
    expect(shown()).toEqual([['info', 'something else']]);
    notifier.dispose();
    model.dispose();
  });
});

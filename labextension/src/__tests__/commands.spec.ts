import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  addCommands,
  addCommandsToPalette,
  CommandIDs,
  panelActions
} from '../commands';
import { translationBundle } from '../util/i18n';
import { AccountsModel } from '../model/accounts';
import { SignInRunner } from '../actions/signIn';
import { ADA, FakeClient } from './helpers';

/** The part of a command registry the module uses, recording what it is told. */
class FakeCommands {
  options = new Map<string, any>();
  executed: [string, unknown][] = [];
  changed: string[] = [];
  addCommand(id: string, options: any) {
    this.options.set(id, options);
    return { dispose: () => undefined, isDisposed: false };
  }
  notifyCommandChanged(id: string) {
    this.changed.push(id);
  }
  execute(id: string, args?: unknown) {
    this.executed.push([id, args]);
    return Promise.resolve();
  }
  /** Run a command as the registry would. */
  run(id: string, args: { [key: string]: unknown } = {}) {
    return this.options.get(id).execute(args);
  }
}

function setup() {
  const commands = new FakeCommands();
  const app = { commands } as unknown as JupyterFrontEnd;
  const client = new FakeClient();
  const model = new AccountsModel({ client });
  const methods: (string | undefined)[] = [];
  const signIns = {
    signIn: async (method?: string) => {
      methods.push(method);
    }
  } as unknown as SignInRunner;
  const anchors: (Widget | null)[] = [];
  const panel = {
    open: (anchor: Widget | null) => void anchors.push(anchor)
  };
  const indicator = new Widget();
  const trans = translationBundle();
  addCommands(app, { model, signIns, panel, indicator, trans });
  return { app, commands, model, methods, anchors, indicator };
}

describe('addCommands', () => {
  it('adds the documented commands, described', () => {
    const { commands, model } = setup();
    expect([...commands.options.keys()]).toEqual([
      'jupyter-msal:sign-in',
      'jupyter-msal:sign-out',
      'jupyter-msal:show-accounts'
    ]);
    for (const options of commands.options.values()) {
      expect(options.describedBy.args.type).toBe('object');
    }
    expect(commands.options.get(CommandIDs.signIn).label).toBe(
      'Sign in to Microsoft…'
    );
    expect(
      commands.options.get(CommandIDs.signIn).describedBy.args.properties.method
        .enum
    ).toEqual(['auto', 'device_code', 'auth_code', 'broker']);
    model.dispose();
  });

  it('signs in with a known method, or as the settings say', async () => {
    const { commands, model, methods } = setup();
    await commands.run(CommandIDs.signIn, { method: 'broker' });
    await commands.run(CommandIDs.signIn, { method: 'magic' });
    await commands.run(CommandIDs.signIn);
    expect(methods).toEqual(['broker', undefined, undefined]);
    model.dispose();
  });

  it('names the account in the sign-out label', () => {
    const { commands, model } = setup();
    const label = commands.options.get(CommandIDs.signOut).label;
    expect(label({})).toBe('Sign out of Microsoft');
    expect(label({ account: 'ada@contoso.com' })).toBe(
      'Sign out of Microsoft (ada@contoso.com)'
    );
    model.dispose();
  });

  it('enables sign-out when someone is signed in, and says when that changes', () => {
    const { commands, model } = setup();
    const isEnabled = commands.options.get(CommandIDs.signOut).isEnabled;
    model.apply({ accounts: [], revision: 1 });
    expect(isEnabled()).toBe(false);
    model.apply({ accounts: [ADA], revision: 2 });
    expect(isEnabled()).toBe(true);
    expect(commands.changed).toEqual([CommandIDs.signOut, CommandIDs.signOut]);
    model.dispose();
  });

  it('opens the accounts next to the indicator when it shows', () => {
    const { commands, model, anchors, indicator } = setup();
    commands.run(CommandIDs.showAccounts);
    Widget.attach(indicator, document.body);
    commands.run(CommandIDs.showAccounts);
    expect(anchors).toEqual([null, indicator]);
    Widget.detach(indicator);
    model.dispose();
  });

  it('lets the panel buttons run the commands', () => {
    const { app, commands, model } = setup();
    const actions = panelActions(app);
    actions.signIn();
    actions.signOut(ADA);
    actions.signOutAll();
    expect(commands.executed).toEqual([
      [CommandIDs.signIn, undefined],
      [CommandIDs.signOut, { account: ADA.home_account_id }],
      [CommandIDs.signOut, { all: true }]
    ]);
    model.dispose();
  });
});

describe('addCommandsToPalette', () => {
  it('lists the commands under Microsoft', () => {
    const items: { command: string; category: string }[] = [];
    const palette = {
      addItem: (item: { command: string; category: string }) => {
        items.push(item);
        return { dispose: () => undefined, isDisposed: false };
      }
    } as unknown as ICommandPalette;
    addCommandsToPalette(palette, translationBundle());
    expect(items).toEqual([
      { command: CommandIDs.signIn, category: 'Microsoft' },
      { command: CommandIDs.signOut, category: 'Microsoft' },
      { command: CommandIDs.showAccounts, category: 'Microsoft' }
    ]);
  });
});

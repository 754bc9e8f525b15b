import { JupyterFrontEnd } from '@jupyterlab/application';
import { ServerConnection } from '@jupyterlab/services';
import { CommandRegistry } from '@lumino/commands';
import { PluginRegistry } from '@lumino/coreutils';
import { Stream } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import plugin, { CommandIDs, IMsalAccounts } from '../index';
import { SIGN_IN_EVENT } from '../model/serverEvents';
import { ADA, until } from './helpers';

/** A server that answers `GET accounts` with `accounts()`. */
function serverSettings(accounts: () => object[]) {
  const fetchImpl = async (input: RequestInfo, init?: RequestInit) => {
    const request = new Request(input as any, init);
    const body = request.url.includes('/jupyter-msal/accounts')
      ? { accounts: accounts(), revision: accounts().length }
      : { error: 'not_found', message: 'no' };
    return new Response(JSON.stringify(body), {
      status: 'accounts' in body ? 200 : 404,
      headers: { 'Content-Type': 'application/json' }
    });
  };
  const baseUrl = 'http://localhost:8888/';
  return ServerConnection.makeSettings({
    baseUrl,
    wsUrl: 'ws://localhost:8888/',
    fetch: fetchImpl as any
  });
}

/** Just enough of a JupyterLab application for the plugin. */
function fakeApp(accounts: () => object[]) {
  const topBar: Widget[] = [];
  const events = { stream: new Stream<unknown, any>({}) };
  const app = {
    commands: new CommandRegistry(),
    serviceManager: { serverSettings: serverSettings(accounts), events },
    shell: { add: (widget: Widget) => topBar.push(widget) }
  } as unknown as JupyterFrontEnd;
  return { app, events, topBar };
}

describe('IMsalAccounts', () => {
  it('is what the plugin provides', () => {
    expect(plugin.provides).toBe(IMsalAccounts);
    expect(IMsalAccounts.name).toBe('jupyter-msal:IMsalAccounts');
  });

  it('is given to an extension that requires it', async () => {
    let signedIn: object[] = [];
    const { app, events } = fakeApp(() => signedIn);
    const registry = new PluginRegistry<JupyterFrontEnd>();
    registry.application = app;
    registry.registerPlugin(plugin);
    let seen: IMsalAccounts | null = null;
    registry.registerPlugin({
      id: 'another-extension:plugin',
      requires: [IMsalAccounts],
      activate: (_: JupyterFrontEnd, msal: IMsalAccounts) => {
        seen = msal;
      }
    });
    await registry.activatePlugin('another-extension:plugin');
    const msal = seen! as IMsalAccounts;
    expect(typeof msal.signIn).toBe('function');
    expect(msal.status).toBeNull();
    await until(() => msal.model.state === 'ok');
    expect(msal.model.accounts).toEqual([]);

    // the accounts model is read-only, and tells of changes
    let changes = 0;
    msal.model.changed.connect(() => changes++);
    signedIn = [ADA];
    events.stream.emit({ schema_id: SIGN_IN_EVENT, action: 'succeeded' });
    await until(() => msal.model.accounts.length === 1);
    expect(msal.model.accounts).toEqual([ADA]);
    expect(changes).toBeGreaterThan(0);
    expect(app.commands.hasCommand(CommandIDs.signIn)).toBe(true);
    expect(app.commands.label(CommandIDs.signIn)).toBe('Sign in to Microsoft…');
    expect(app.commands.caption(CommandIDs.signIn)).toBe(
      'Sign in to Microsoft Entra ID (with a device code, the browser or the broker)'
    );
    // stop its polling (the plugin lives as long as the page)
    (msal.model as unknown as { dispose(): void }).dispose();
  });
});

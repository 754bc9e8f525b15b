import { Notification } from '@jupyterlab/apputils';
import { acceptDialog, dismissDialog } from '@jupyterlab/testutils';

import { AccountsModel } from '../model/accounts';
import { FrontEndSettings } from '../model/settings';
import { SignInRunner } from '../actions/signIn';
import {
  ADA,
  FakeClient,
  flow,
  settingRegistry,
  status,
  until
} from './helpers';

/** The notifications shown so far: type and message. */
const shown = () =>
  Notification.manager.notifications.map(n => [n.type, n.message]);

async function setup(user: { [key: string]: unknown } = {}) {
  const client = new FakeClient();
  client.accountsFallback = { accounts: [ADA], revision: 2 };
  const model = new AccountsModel({ client });
  const settings = new FrontEndSettings();
  await settings.load(settingRegistry(user));
  const runner = new SignInRunner({ client, model, settings });
  return { client, model, runner };
}

describe('SignInRunner', () => {
  beforeEach(() => Notification.manager.dismiss());

  it('signs in with the method and scopes of the settings, and says who', async () => {
    const { client, model, runner } = await setup({
      signInMethod: 'device_code',
      scopes: ['User.Read']
    });
    client.startAnswers.push(flow());
    client.getAnswers.push(flow({ state: 'succeeded', account: ADA }));
    await runner.signIn();
    expect(client.lastStart).toEqual({
      method: 'device_code',
      scopes: ['User.Read']
    });
    expect(shown()).toEqual([
      ['success', 'Signed in to Microsoft as ada@contoso.com.']
    ]);
    expect(client.calls).not.toContain('status');
    model.dispose();
  });

  it('lets the server choose when it has no broker', async () => {
    const { client, model, runner } = await setup();
    client.statusAnswers.push(status());
    client.startAnswers.push(flow());
    client.getAnswers.push(flow({ state: 'succeeded', account: ADA }));
    await runner.signIn();
    expect(client.calls.slice(0, 2)).toEqual(['status', 'startSignIn']);
    expect(client.lastStart.method).toBe('auto');
    model.dispose();
  });

  it('asks when the server has a broker', async () => {
    const { client, model, runner } = await setup();
    client.statusAnswers.push(
      status({ broker: { available: true, reason: null } })
    );
    client.startAnswers.push(flow({ method: 'broker', user_code: null }));
    client.getAnswers.push(flow({ state: 'succeeded', account: ADA }));
    const signedIn = runner.signIn();
    await acceptDialog();
    await signedIn;
    expect(client.lastStart.method).toBe('broker');
    model.dispose();
  });

  it('does nothing when the question is dismissed', async () => {
    const { client, model, runner } = await setup();
    client.statusAnswers.push(
      status({ broker: { available: true, reason: null } })
    );
    const signedIn = runner.signIn();
    await dismissDialog();
    await signedIn;
    expect(client.calls).toEqual(['status']);
    expect(shown()).toEqual([]);
    model.dispose();
  });

  it('uses the method it is given, and reports a failure in words', async () => {
    const { client, model, runner } = await setup({ signInMethod: 'broker' });
    client.startAnswers.push(flow());
    client.getAnswers.push(
      flow({
        state: 'failed',
        error: { error: 'sign_in_declined', message: 'declined' }
      })
    );
    const signedIn = runner.signIn('device_code');
    // the dialog stays open after a failure, saying why
    await until(() => shown().length > 0);
    await dismissDialog();
    await signedIn;
    expect(client.lastStart.method).toBe('device_code');
    expect(shown()).toEqual([
      [
        'error',
        'Sign-in declined. The sign-in was declined at the Microsoft sign-in page. Start again if that was a mistake.'
      ]
    ]);
    model.dispose();
  });
});

import { Notification } from '@jupyterlab/apputils';
import { acceptDialog, dismissDialog } from '@jupyterlab/testutils';

import { MsalApiError } from '../api';
import { translationBundle } from '../util/i18n';
import { AccountsModel } from '../model/accounts';
import { signOut } from '../actions/signOut';
import { ADA, BOB, FakeClient, until } from './helpers';

/** The notifications shown so far: type and message. */
const shown = () =>
  Notification.manager.notifications.map(n => [n.type, n.message]);

function setup(accounts = [ADA]) {
  const client = new FakeClient();
  const model = new AccountsModel({ client });
  model.apply({ accounts, revision: 1 });
  return { client, model, trans: translationBundle() };
}

describe('signOut', () => {
  beforeEach(() => Notification.manager.dismiss());

  it('signs out of a named account and says so', async () => {
    const { client, model, trans } = setup([ADA, BOB]);
    client.signOutAnswers.push({
      removed: [BOB],
      accounts: [ADA],
      revision: 2
    });
    await signOut(model, trans, BOB.username);
    expect(client.calls).toEqual([`signOut:${BOB.username}`]);
    expect(model.accounts).toEqual([ADA]);
    expect(shown()).toEqual([['success', 'Signed out of bob@contoso.com.']]);
    model.dispose();
  });

  it('signs out of the only account without asking', async () => {
    const { client, model, trans } = setup([ADA]);
    client.signOutAnswers.push({ removed: [ADA], accounts: [], revision: 2 });
    await signOut(model, trans);
    expect(client.calls).toEqual([`signOut:${ADA.home_account_id}`]);
    expect(shown()).toEqual([['success', 'Signed out of ada@contoso.com.']]);
    model.dispose();
  });

  it('asks before signing out of several accounts', async () => {
    const { client, model, trans } = setup([ADA, BOB]);
    const declined = signOut(model, trans);
    await dismissDialog();
    await declined;
    expect(client.calls).toEqual([]);

    client.signOutAnswers.push({
      removed: [ADA, BOB],
      accounts: [],
      revision: 2
    });
    const agreed = signOut(model, trans);
    await acceptDialog();
    await agreed;
    expect(client.calls).toEqual(['signOutAll']);
    expect(shown()).toEqual([
      ['success', 'Signed out of ada@contoso.com, bob@contoso.com.']
    ]);
    model.dispose();
  });

  it('says when nobody is signed in', async () => {
    const { client, model, trans } = setup([]);
    await signOut(model, trans);
    expect(client.calls).toEqual([]);
    expect(shown()).toEqual([['info', 'You are not signed in to Microsoft.']]);
    model.dispose();
  });

  it('reports a failure and refreshes the accounts', async () => {
    const { client, model, trans } = setup([ADA]);
    client.signOutAnswers.push(
      new MsalApiError(500, { error: 'cache_error', message: 'disk full' })
    );
    client.accountsFallback = { accounts: [ADA], revision: 1 };
    await signOut(model, trans, ADA.username);
    expect(shown()).toEqual([['error', 'Sign-out failed: disk full']]);
    await until(() => client.calls.includes('accounts'));
    expect(client.calls).toEqual([`signOut:${ADA.username}`, 'accounts']);
    model.dispose();
  });
});

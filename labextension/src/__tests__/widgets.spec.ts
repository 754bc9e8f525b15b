import { Widget } from '@lumino/widgets';

import { MsalApiError } from '../api';
import { SignInBody } from '../widgets/dialog';
import { safeHttpUrl } from '../util/dom';
import { MsalIndicator } from '../widgets/indicator';
import { AccountsModel } from '../model/accounts';
import { AccountsPopup } from '../widgets/accountsPopup';
import { SignInSession } from '../model/signInSession';
import { ADA, BOB, FakeClient, flow, flush, status } from './helpers';

describe('safeHttpUrl', () => {
  it('keeps http(s) links only', () => {
    expect(safeHttpUrl('https://microsoft.com/devicelogin')).toBe(
      'https://microsoft.com/devicelogin'
    );
    expect(safeHttpUrl('javascript:alert(1)')).toBeNull();
    expect(safeHttpUrl('not a url')).toBeNull();
    expect(safeHttpUrl(null)).toBeNull();
  });
});

describe('SignInBody', () => {
  it('shows the code, the link and a countdown, then the outcome', async () => {
    const client = new FakeClient();
    let release: (f: any) => void = () => undefined;
    client.startAnswers.push(flow({ expires_on: Date.now() / 1000 + 600 }));
    client.getAnswers.push(() => new Promise(resolve => (release = resolve)));
    const session = new SignInSession({ client });
    const body = new SignInBody({ session });
    Widget.attach(body, document.body);
    void session.start();
    await flush();
    const node = body.node;
    expect(node.dataset.phase).toBe('pending');
    const code = node.querySelector<HTMLInputElement>('#jp-msal-user-code')!;
    expect(code.value).toBe('ABCD-1234');
    expect(code.readOnly).toBe(true);
    const link = node.querySelector<HTMLAnchorElement>(
      '#jp-msal-verification-link'
    )!;
    expect(link.href).toBe('https://microsoft.com/devicelogin');
    expect(link.target).toBe('_blank');
    expect(link.rel).toMatch(/noopener/);
    expect(node.querySelector('#jp-msal-countdown')!.textContent).toMatch(
      /expires in (10:00|9:5\d)/
    );
    release(
      flow({
        state: 'failed',
        error: {
          error: 'identity_provider_error',
          message: 'blocked',
          aadsts: '53003'
        }
      })
    );
    await flush();
    expect(node.dataset.phase).toBe('failed');
    const problem = node.querySelector<HTMLElement>('#jp-msal-signin-problem')!;
    expect(problem.hidden).toBe(false);
    expect(problem.dataset.kind).toBe('policy');
    expect(node.querySelector<HTMLElement>('.jp-msal-devicecode')!.hidden).toBe(
      true
    );
    body.dispose();
  });

  it("shows the server's reason for not using the broker, word for word", async () => {
    // What a Linux server says: no pip hint, since pip cannot bring the broker there.
    const reason =
      'pymsalruntime is not installed; on Linux the OS broker also needs the Microsoft Identity Broker service';
    const client = new FakeClient();
    client.startAnswers.push(
      flow({ expires_on: Date.now() / 1000 + 600, fallback_reason: reason })
    );
    client.getAnswers.push(() => new Promise(() => undefined));
    const session = new SignInSession({ client });
    const body = new SignInBody({ session });
    void session.start();
    await flush();
    const note = body.node.querySelector<HTMLElement>('.jp-msal-note')!;
    expect(note.hidden).toBe(false);
    expect(note.textContent).toBe(`The sign-in broker was not used: ${reason}`);
    expect(body.node.textContent).not.toMatch(/pip install/);
    body.dispose();
  });

  it('never renders server text as HTML', async () => {
    const client = new FakeClient();
    client.startAnswers.push(flow());
    client.getAnswers.push(
      flow({
        state: 'failed',
        error: { error: 'x', message: '<img src=x onerror=alert(1)>' }
      })
    );
    const session = new SignInSession({ client });
    const body = new SignInBody({ session });
    await session.start();
    expect(body.node.querySelector('img')).toBeNull();
    expect(body.node.textContent).toMatch(/<img src=x/);
    body.dispose();
  });
});

/** Panel actions that do nothing (tests that only read the panel). */
const NO_ACTIONS = {
  signIn: () => undefined,
  signOut: () => undefined,
  signOutAll: () => undefined
};

/** An accounts panel on `model`, opened, once the model's first answer is in. */
async function openPanel(model: AccountsModel): Promise<AccountsPopup> {
  const popup = new AccountsPopup({ model, actions: NO_ACTIONS });
  popup.open(null);
  await flush();
  return popup;
}

describe('MsalIndicator and AccountsPanel', () => {
  function setup() {
    const client = new FakeClient();
    const model = new AccountsModel({ client });
    return { client, model };
  }

  it('shows "Sign in to Microsoft" or who is signed in', async () => {
    const { client, model } = setup();
    let clicks = 0;
    const indicator = new MsalIndicator({ model, onActivate: () => clicks++ });
    expect(indicator.label).toBe('Microsoft');
    client.accountsAnswers.push(
      { accounts: [], revision: 1 },
      { accounts: [ADA, BOB], revision: 2 }
    );
    await model.refresh();
    expect(indicator.label).toBe('Sign in to Microsoft');
    expect(indicator.node.dataset.state).toBe('ok');
    await model.refresh();
    expect(indicator.label).toBe('ada@contoso.com +1');
    expect(indicator.node.dataset.accounts).toBe('2');
    indicator.node.click();
    indicator.node.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter' })
    );
    expect(clicks).toBe(2);
    indicator.dispose();
    model.dispose();
  });

  it('lists accounts with sign-out buttons and the configuration', async () => {
    const { client, model } = setup();
    client.statusAnswers.push(
      status({
        accounts: [ADA, BOB],
        revision: 3,
        cache: {
          path: '/c.bin',
          encrypted: false,
          encryption: 'none',
          warnings: ['The token cache is not encrypted.']
        }
      })
    );
    const done: string[] = [];
    const popup = new AccountsPopup({
      model,
      actions: {
        signIn: () => done.push('signIn'),
        signOut: a => done.push(`signOut:${a.username}`),
        signOutAll: () => done.push('signOutAll')
      }
    });
    popup.open(null);
    await flush();
    const node = popup.panel!.node;
    const accounts = node.querySelectorAll<HTMLElement>('.jp-msal-account');
    expect(Array.from(accounts).map(a => a.dataset.username)).toEqual([
      'ada@contoso.com',
      'bob@contoso.com'
    ]);
    accounts[1].querySelector<HTMLButtonElement>('.jp-msal-signout')!.click();
    node.querySelector<HTMLButtonElement>('#jp-msal-signout-all')!.click();
    expect(node.querySelector('.jp-msal-warning')!.textContent).toMatch(
      /not encrypted/
    );
    expect(node.querySelector('#jp-msal-config')!.textContent).toMatch(
      /NOT encrypted/
    );
    node.querySelector<HTMLButtonElement>('#jp-msal-signin')!.click();
    expect(done).toEqual(['signOut:bob@contoso.com', 'signOutAll', 'signIn']);
    expect(popup.isOpen).toBe(false);
    model.dispose();
  });

  it('shows a JupyterHub login as such, without a sign-out button', async () => {
    const { client, model } = setup();
    const hubAccount = { ...ADA, sign_in_method: 'hub' };
    client.statusAnswers.push(
      status({
        accounts: [hubAccount],
        revision: 4,
        hub: {
          url: 'http://127.0.0.1:10101/services/jupyter-msal/',
          account: ADA.username,
          in_use: true,
          note: 'tokens come from your JupyterHub login'
        }
      })
    );
    const popup = await openPanel(model);
    const panel = popup.panel!;
    const item = panel.node.querySelector<HTMLElement>('.jp-msal-account')!;
    expect(item.dataset.username).toBe(ADA.username);
    expect(item.querySelector('.jp-msal-signout')).toBeNull();
    expect(item.querySelector('.jp-msal-account-hub')!.textContent).toBe(
      'through your JupyterHub login'
    );
    expect(panel.node.querySelector('.jp-msal-hub-note')).toBeNull();
    popup.close();
    model.dispose();
  });

  it('says why the JupyterHub login is not used here', async () => {
    const { client, model } = setup();
    const note =
      'not in use: the hub login of bob holds no Microsoft Entra ID refresh token';
    client.statusAnswers.push(
      status({
        accounts: [],
        revision: 5,
        hub: { url: 'http://hub/services/jupyter-msal/', in_use: false, note }
      })
    );
    const popup = await openPanel(model);
    const panel = popup.panel!;
    expect(panel.node.querySelector('.jp-msal-hub-note')!.textContent).toBe(
      note
    );
    popup.close();
    model.dispose();
  });

  it('says why when jupyter-msal is not active on the server', async () => {
    const { client, model } = setup();
    const message =
      'jupyter-msal is not active on this server: JupyterMsal.ca_bundle: cannot read /x';
    client.statusAnswers.push(
      new MsalApiError(503, { error: 'inactive', message, hint: 'Restart.' })
    );
    const popup = await openPanel(model);
    const panel = popup.panel!;
    const banner = panel.node.querySelector('.jp-msal-sync-problem')!;
    expect(banner.textContent).toBe(message);
    expect(
      panel.node.querySelector('.jp-msal-inactive-hint')!.textContent
    ).toBe('Restart.');
    expect(panel.node.textContent).not.toMatch(/installed/);
    expect(panel.node.querySelector('#jp-msal-signin')).toBeNull();
    const indicator = new MsalIndicator({ model, onActivate: () => undefined });
    expect(indicator.node.title).toContain(message);
    indicator.dispose();
    popup.close();
    model.dispose();
  });

  it('closes on Escape and on a click outside', async () => {
    const { client, model } = setup();
    client.statusAnswers.push(status(), status());
    const popup = new AccountsPopup({ model, actions: NO_ACTIONS });
    popup.open(null);
    popup.panel!.node.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Escape', bubbles: true })
    );
    expect(popup.isOpen).toBe(false);
    popup.open(null);
    document.body.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    expect(popup.isOpen).toBe(false);
    await flush();
    model.dispose();
  });
});

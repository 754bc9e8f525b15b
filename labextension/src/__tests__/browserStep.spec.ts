import { Widget } from '@lumino/widgets';

import { SignInBody } from '../widgets/dialog';
import { SignInSession } from '../model/signInSession';
import { ADA, FakeClient, flow, flush } from './helpers';

const PAGE =
  'https://login.example/organizations/oauth2/v2.0/authorize?state=s';

function browserFlow(partial: any = {}) {
  return flow({
    method: 'auth_code',
    user_code: null,
    verification_uri: null,
    sign_in_url: PAGE,
    expires_on: Date.now() / 1000 + 600,
    ...partial
  });
}

describe('the sign-in dialog, signing in in the browser', () => {
  it('opens the page in a new tab with a button and hides the device code', async () => {
    const client = new FakeClient();
    client.startAnswers.push(browserFlow());
    client.getAnswers.push(() => new Promise(() => undefined));
    const session = new SignInSession({ client, method: 'auth_code' });
    const body = new SignInBody({ session });
    Widget.attach(body, document.body);
    void session.start();
    await flush();
    const node = body.node;
    expect(node.dataset.method).toBe('auth_code');
    const open = node.querySelector<HTMLAnchorElement>(
      '#jp-msal-open-sign-in'
    )!;
    expect(open.href).toBe(PAGE);
    expect(open.target).toBe('_blank');
    expect(open.rel).toMatch(/noopener/);
    expect(open.getAttribute('role')).toBe('button');
    expect(
      node.querySelector<HTMLElement>('.jp-msal-browser-step')!.hidden
    ).toBe(false);
    expect(node.querySelector<HTMLElement>('.jp-msal-devicecode')!.hidden).toBe(
      true
    );
    expect(node.querySelector('#jp-msal-signin-status')!.textContent).toMatch(
      /new tab/
    );
    body.dispose();
  });

  it('completes the sign-in with a pasted address, and says why one did not work', async () => {
    const client = new FakeClient();
    client.startAnswers.push(browserFlow());
    client.getAnswers.push(() => new Promise(() => undefined));
    const session = new SignInSession({ client, method: 'auth_code' });
    const body = new SignInBody({ session });
    Widget.attach(body, document.body);
    void session.start();
    await flush();
    const node = body.node;
    const input = node.querySelector<HTMLInputElement>(
      '#jp-msal-paste-address'
    )!;
    const send = node.querySelector<HTMLButtonElement>(
      '#jp-msal-paste-complete'
    )!;
    const feedback = node.querySelector<HTMLElement>(
      '#jp-msal-paste-feedback'
    )!;

    send.click();
    await flush();
    expect(feedback.textContent).toMatch(/Paste the address/);
    expect(client.calls.filter(c => c.startsWith('completeSignIn'))).toEqual(
      []
    );

    const { MsalApiError } = await import('../api');
    client.completeAnswers.push(() =>
      Promise.reject(
        new MsalApiError(400, {
          error: 'bad_request',
          message:
            'This answer is not for this sign-in: its state does not match.'
        })
      )
    );
    input.value = 'http://localhost:1/?code=x&state=wrong';
    send.click();
    await flush();
    expect(feedback.textContent).toMatch(/state does not match/);
    expect(session.phase).toBe('pending');

    client.completeAnswers.push(
      browserFlow({ state: 'succeeded', account: ADA, sign_in_url: PAGE })
    );
    input.value = ' http://localhost:1/?code=c&state=s ';
    send.click();
    await flush();
    expect(client.calls).toContain(
      'completeSignIn:f1:http://localhost:1/?code=c&state=s'
    );
    expect(session.phase).toBe('succeeded');
    expect(
      node.querySelector<HTMLElement>('.jp-msal-browser-step')!.hidden
    ).toBe(true);
    expect(node.querySelector('#jp-msal-signin-status')!.textContent).toMatch(
      /Signed in as ada@contoso.com/
    );
    body.dispose();
  });

  it('shows the new step when a blocked device code moves on to the browser', async () => {
    const client = new FakeClient();
    client.startAnswers.push(flow({ expires_on: Date.now() / 1000 + 600 }));
    client.getAnswers.push(
      browserFlow({
        fallback_reason:
          'The identity provider blocked sign-in with a device code (AADSTS53003): continue in the browser.'
      })
    );
    client.getAnswers.push(() => new Promise(() => undefined));
    const session = new SignInSession({ client, method: 'device_code' });
    const body = new SignInBody({ session });
    Widget.attach(body, document.body);
    void session.start();
    await flush(20);
    const node = body.node;
    expect(node.querySelector<HTMLElement>('.jp-msal-devicecode')!.hidden).toBe(
      true
    );
    expect(
      node.querySelector<HTMLElement>('.jp-msal-browser-step')!.hidden
    ).toBe(false);
    const note = node.querySelector<HTMLElement>('.jp-msal-note')!;
    expect(note.textContent).toMatch(
      /^The identity provider blocked.*AADSTS53003/
    );
    body.dispose();
  });
});

import { ServerConnection } from '@jupyterlab/services';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { MsalClient } from '../api';
import { TRANSLATION_DOMAIN, translationBundle } from '../util/i18n';
import { MsalIndicator } from '../widgets/indicator';
import { describeProblem } from '../messages';
import { AccountsModel } from '../model/accounts';
import { AccountsPopup } from '../widgets/accountsPopup';
import { SignInSession } from '../model/signInSession';
import { FakeClient, flow, flush } from './helpers';

/** A translator that marks every string it translates: «…». */
function markingTranslator(): { translator: ITranslator; domains: string[] } {
  const domains: string[] = [];
  const plain = nullTranslator.load(TRANSLATION_DOMAIN);
  const bundle = new Proxy(plain, {
    get:
      (target, name) =>
      (...args: unknown[]) =>
        `«${(target as any)[name](...args)}»`
  }) as TranslationBundle;
  const translator: ITranslator = {
    languageCode: 'xx',
    load: (domain: string) => {
      domains.push(domain);
      return bundle;
    }
  };
  return { translator, domains };
}

describe('translation', () => {
  it("loads jupyter-msal's own domain", () => {
    const { translator, domains } = markingTranslator();
    translationBundle(translator);
    expect(domains).toEqual(['jupyter_msal']);
  });

  it('leaves the strings as written without a translator', () => {
    expect(translationBundle(null).__('Signed in as %1.', 'ada')).toBe(
      'Signed in as ada.'
    );
  });

  it('translates the words of the widgets', async () => {
    const { translator } = markingTranslator();
    const client = new FakeClient();
    client.accountsAnswers.push({ accounts: [], revision: 1 });
    const model = new AccountsModel({ client });
    const indicator = new MsalIndicator({
      model,
      onActivate: () => undefined,
      translator
    });
    expect(indicator.label).toBe('«Microsoft»');
    await model.refresh();
    expect(indicator.label).toBe('«Sign in to Microsoft»');
    client.statusAnswers.push(new Error('offline'));
    const popup = new AccountsPopup({
      model,
      actions: {
        signIn: () => undefined,
        signOut: () => undefined,
        signOutAll: () => undefined
      },
      translator
    });
    popup.open(null);
    await flush();
    expect(
      popup.panel!.node.querySelector('#jp-msal-signin')!.textContent
    ).toBe('«Sign in…»');
    popup.close();
    indicator.dispose();
    model.dispose();
  });

  it('translates the problems, and the messages of sessions and the client', async () => {
    const { translator } = markingTranslator();
    const trans = translationBundle(translator);
    expect(describeProblem(null, 'expired', trans).title).toBe(
      '«The code expired»'
    );

    const client = new FakeClient();
    client.startAnswers.push(flow());
    client.getAnswers.push(flow({ state: 'failed', error: null }));
    const session = new SignInSession({ client, translator });
    expect(await session.start()).toBe('failed');
    expect(session.error?.message).toBe('«The sign-in failed.»');

    const serverSettings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: (async () => new Response('oops', { status: 500 })) as any
    });
    const error = await new MsalClient({ serverSettings, translator })
      .accounts()
      .catch(e => e);
    expect(error.message).toBe('«The Jupyter server answered HTTP 500.»');
  });
});

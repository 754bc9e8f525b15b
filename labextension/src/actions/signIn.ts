/**
 * Signing in from the page: which method (the setting, or ask when the
 * server offers a broker), one sign-in at a time, the sign-in dialog, and
 * the outcome as a notification.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { IMsalClient } from '../api';
import { translationBundle } from '../util/i18n';
import { describeProblem } from '../messages';
import { SignInMethod } from '../util/methods';
import { AccountsModel } from '../model/accounts';
import { FrontEndSettings } from '../model/settings';
import { SessionPhase, SignInSession } from '../model/signInSession';

/**
 * Starts sign-ins and reports how they ended.
 */
export class SignInRunner {
  constructor(options: SignInRunner.IOptions) {
    this._client = options.client;
    this._model = options.model;
    this._settings = options.settings;
    this._translator = options.translator ?? null;
    this._trans = translationBundle(options.translator);
  }

  /**
   * Sign in with `method`, or with the method the settings name (asking
   * when they say `ask` and the server has a broker). Resolves when the
   * dialog closes; the sign-in may go on in the background.
   */
  async signIn(method?: SignInMethod): Promise<void> {
    const chosen = method ?? (await this._chooseMethod());
    if (!chosen) {
      return;
    }
    const { showSignInDialog } = await import('../widgets/dialog');
    await showSignInDialog({
      createSession: () => this._newSession(chosen),
      onFinished: (session, phase) => this._report(session, phase),
      translator: this._translator
    });
  }

  /** A new session; a sign-in still going on from this page is cancelled. */
  private _newSession(method: SignInMethod): SignInSession {
    if (this._active && !this._active.isDone) {
      void this._active.cancel();
    }
    this._active = new SignInSession({
      client: this._client,
      method,
      scopes: this._settings.current.scopes,
      translator: this._translator
    });
    return this._active;
  }

  private async _chooseMethod(): Promise<SignInMethod | null> {
    const setting = this._settings.current.signInMethod;
    if (setting !== 'ask') {
      return setting;
    }
    const status = this._model.status ?? (await this._model.loadStatus());
    if (!status?.broker?.available) {
      return 'auto';
    }
    return askForMethod(this._trans);
  }

  private _report(session: SignInSession, phase: SessionPhase): void {
    const trans = this._trans;
    if (this._active === session) {
      this._active = null;
    }
    void this._model.refresh();
    if (phase === 'succeeded') {
      const name = session.flow?.account?.username;
      Notification.success(
        name
          ? trans.__('Signed in to Microsoft as %1.', name)
          : trans.__('Signed in to Microsoft.'),
        { autoClose: 5000 }
      );
    } else if (phase === 'cancelled') {
      Notification.info(trans.__('Microsoft sign-in cancelled.'), {
        autoClose: 4000
      });
    } else {
      const problem = describeProblem(session.error, phase, trans);
      Notification.error(`${problem.title}. ${problem.detail}`, {
        autoClose: false
      });
    }
  }

  private _client: SignInRunner.IOptions['client'];
  private _model: AccountsModel;
  private _settings: FrontEndSettings;
  private _translator: ITranslator | null;
  private _trans: TranslationBundle;
  private _active: SignInSession | null = null;
}

/** The `SignInRunner` namespace. */
export namespace SignInRunner {
  /** Options of the runner. */
  export interface IOptions {
    /** The REST client the sessions use. */
    client: Pick<
      IMsalClient,
      'startSignIn' | 'getSignIn' | 'cancelSignIn' | 'completeSignIn'
    >;
    /** The accounts, refreshed when a sign-in ends. */
    model: AccountsModel;
    /** The settings: method and scopes. */
    settings: FrontEndSettings;
    /** Translates the dialogs and notifications. */
    translator?: ITranslator | null;
  }
}

/** Ask whether to use the broker or a code; null when the user cancels. */
async function askForMethod(
  trans: TranslationBundle
): Promise<SignInMethod | null> {
  const useBroker = trans.__('Use the broker');
  const result = await showDialog({
    title: trans.__('Sign in to Microsoft'),
    body: trans.__(
      'Sign in with the broker of this computer (your work account in Windows or macOS), or with a code entered in any browser?'
    ),
    buttons: [
      Dialog.cancelButton(),
      Dialog.createButton({
        label: trans.__('Use a code'),
        className: 'jp-msal-method-device-code'
      }),
      Dialog.okButton({
        label: useBroker,
        className: 'jp-msal-method-broker'
      })
    ]
  });
  if (!result.button.accept) {
    return null;
  }
  return result.button.label === useBroker ? 'broker' : 'device_code';
}

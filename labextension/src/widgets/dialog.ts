/**
 * The sign-in dialog: the user code in large type with a copy button, the
 * verification link, a countdown, cancel, and the outcome in words.
 */
import { Dialog } from '@jupyterlab/apputils';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { describeProblem } from '../messages';
import { SessionPhase, SignInSession } from '../model/signInSession';
import { el } from '../util/dom';
import { translationBundle } from '../util/i18n';
import { BrowserStep } from './browserStep';
import { DeviceCodeStep } from './deviceCodeStep';

/**
 * The body of the sign-in dialog. It follows one `SignInSession` at a time;
 * "Start again" swaps in a new session.
 */
export class SignInBody extends Widget {
  constructor(options: SignInBody.IOptions) {
    super();
    this.id = 'jp-msal-signin-dialog';
    this.addClass('jp-msal-signin');
    this._restartFactory = options.restart ?? null;
    const trans = (this._trans = translationBundle(options.translator));
    this._status = el('p', {
      id: 'jp-msal-signin-status',
      class: 'jp-msal-signin-status',
      'aria-live': 'polite'
    });
    this._deviceCode = new DeviceCodeStep(trans);
    // sign-in in the browser: the page in a new tab, or the pasted address
    this._browser = new BrowserStep(trans, url => this._session.complete(url));
    this._note = el('p', { class: 'jp-msal-note' });
    this._problem = el('div', {
      id: 'jp-msal-signin-problem',
      class: 'jp-msal-problem',
      role: 'alert'
    });
    this._retry = el(
      'button',
      {
        id: 'jp-msal-signin-retry',
        class: 'jp-msal-button jp-msal-signin-retry',
        type: 'button'
      },
      trans.__('Start again')
    );
    this._retry.addEventListener('click', () => this.restart());
    this.node.append(
      this._status,
      this._deviceCode.node,
      this._browser.node,
      this._note,
      this._problem,
      this._retry
    );
    this._session = options.session;
    this._session.changed.connect(this._render, this);
    this._render();
    this._ticker = window.setInterval(
      () => this._deviceCode.renderCountdown(),
      1000
    );
  }

  /** The session the dialog follows now. */
  get session(): SignInSession {
    return this._session;
  }

  /** Called after every render (the dialog adapts its buttons). */
  onRender: ((session: SignInSession) => void) | null = null;

  /** Start a new sign-in in this dialog (after a failure). */
  restart(): void {
    if (!this._restartFactory || !this._session.isDone) {
      return;
    }
    this._session.changed.disconnect(this._render, this);
    this._session = this._restartFactory();
    this._session.changed.connect(this._render, this);
    this._deviceCode.clearFeedback();
    this._render();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this._ticker);
    this._session.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const session = this._session;
    const flow = session.flow;
    this.node.dataset.phase = session.phase;
    this.node.dataset.method = flow?.method ?? session.method;
    this._deviceCode.render(session);
    this._browser.render(flow, session.phase === 'pending');
    const status = this._statusText();
    this._status.textContent = status;
    this._status.hidden = !status;
    const note = this._noteText();
    this._note.textContent = note;
    this._note.hidden = !note || session.isDone;
    this._renderProblem();
    this.onRender?.(session);
  }

  /** What is going on, in a sentence (empty once it failed or was cancelled). */
  private _statusText(): string {
    const trans = this._trans;
    const flow = this._session.flow;
    switch (this._session.phase) {
      case 'idle':
      case 'starting':
        return trans.__('Asking the Jupyter server for a sign-in code…');
      case 'pending':
        if (flow?.user_code) {
          return trans.__('Waiting for you to sign in…');
        }
        return flow?.sign_in_url
          ? trans.__('Waiting for you to sign in in the new tab…')
          : trans.__(
              'Finish signing in in the window that opened on the computer running Jupyter…'
            );
      case 'succeeded':
        return flow?.account?.username
          ? trans.__('Signed in as %1.', flow.account.username)
          : trans.__('Signed in.');
      default:
        return '';
    }
  }

  /** Why another method took over, if one did. */
  private _noteText(): string {
    const flow = this._session.flow;
    if (!flow?.fallback_reason) {
      return '';
    }
    return flow.method === 'auth_code'
      ? flow.fallback_reason
      : this._trans.__(
          'The sign-in broker was not used: %1',
          flow.fallback_reason
        );
  }

  /** Why the sign-in failed, and "Start again". */
  private _renderProblem(): void {
    const session = this._session;
    const phase = session.phase;
    const failed =
      session.isDone && phase !== 'succeeded' && phase !== 'cancelled';
    this._problem.hidden = !failed;
    this._problem.textContent = '';
    this._retry.hidden = !failed || !this._restartFactory;
    if (!failed) {
      return;
    }
    const problem = describeProblem(session.error, phase, this._trans);
    this._problem.dataset.kind = problem.kind;
    this._problem.append(
      el('strong', { class: 'jp-msal-problem-title' }, problem.title),
      el('p', { class: 'jp-msal-problem-detail' }, problem.detail)
    );
  }

  private _trans: TranslationBundle;
  private _session: SignInSession;
  private _restartFactory: (() => SignInSession) | null;
  private _status: HTMLParagraphElement;
  private _deviceCode: DeviceCodeStep;
  private _browser: BrowserStep;
  private _note: HTMLParagraphElement;
  private _problem: HTMLDivElement;
  private _retry: HTMLButtonElement;
  private _ticker: number;
}

/** The `SignInBody` namespace. */
export namespace SignInBody {
  /** Options of the dialog body. */
  export interface IOptions {
    /** The session to follow. */
    session: SignInSession;
    /** Makes a new, started session for "Start again" (no button without). */
    restart?: () => SignInSession;
    /** Translates the dialog's words. */
    translator?: ITranslator | null;
  }
}

/** The dialog around a sign-in body: "Cancel sign-in" and "Hide". */
function signInDialog(
  body: SignInBody,
  trans: TranslationBundle
): Dialog<unknown> {
  const dialog = new Dialog({
    title: trans.__('Sign in to Microsoft'),
    body,
    buttons: [
      Dialog.cancelButton({
        label: trans.__('Cancel sign-in'),
        className: 'jp-msal-dialog-cancel'
      }),
      Dialog.okButton({
        label: trans.__('Hide'),
        caption: trans.__(
          'Close this dialog; the sign-in goes on in the background'
        ),
        className: 'jp-msal-dialog-hide'
      })
    ],
    focusNodeSelector: '#jp-msal-copy-code'
  });
  dialog.addClass('jp-msal-signin-dialog');
  return dialog;
}

/** Once the sign-in finished: "Close" instead of "Cancel sign-in", no "Hide". */
function adaptButtons(
  dialog: Dialog<unknown>,
  finished: boolean,
  trans: TranslationBundle
): void {
  const cancelLabel = dialog.node.querySelector(
    '.jp-msal-dialog-cancel .jp-Dialog-buttonLabel'
  );
  if (cancelLabel) {
    cancelLabel.textContent = finished
      ? trans.__('Close')
      : trans.__('Cancel sign-in');
  }
  const hide = dialog.node.querySelector<HTMLElement>('.jp-msal-dialog-hide');
  if (hide) {
    hide.hidden = finished;
  }
}

/**
 * Show the sign-in dialog for a session factory. Resolves with the last
 * session once the dialog closes; the session may still be pending when
 * the user chose "Hide" (it goes on in the background).
 */
export async function showSignInDialog(options: {
  /** Makes a new session (not started yet); called again by "Start again". */
  createSession: () => SignInSession;
  /** Told the outcome of every session, even after the dialog closed. */
  onFinished: (session: SignInSession, phase: SessionPhase) => void;
  /** Translates the dialog's words. */
  translator?: ITranslator | null;
}): Promise<SignInSession> {
  const trans = translationBundle(options.translator);
  const start = (): SignInSession => {
    const session = options.createSession();
    // the outcome is reported even when the dialog was hidden meanwhile
    void session.done.then(phase => options.onFinished(session, phase));
    void session.start();
    return session;
  };
  const body = new SignInBody({
    session: start(),
    restart: start,
    translator: options.translator
  });
  const dialog = signInDialog(body, trans);
  body.onRender = session => {
    adaptButtons(dialog, session.isDone, trans);
    if (session.phase === 'succeeded') {
      dialog.resolve(1);
    }
  };

  const result = await dialog.launch();
  const session = body.session;
  if (!result.button.accept && !session.isDone) {
    await session.cancel();
  }
  return session;
}

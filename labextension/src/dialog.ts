/**
 * The sign-in dialog: the user code in large type with a copy button, the
 * verification link, a countdown, cancel, and the outcome in words.
 */
import { Dialog } from '@jupyterlab/apputils';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { BrowserStep } from './browserStep';
import { copyText } from './clipboard';
import { appendSentence, el, safeHttpUrl } from './dom';
import { translationBundle } from './i18n';
import { describeProblem, formatCountdown } from './messages';
import { SessionPhase, SignInSession } from './signin';

/** Where the verification link goes in its translated sentence. */
const LINK_MARKER = '{link}';

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
    this._trans = translationBundle(options.translator);
    const trans = this._trans;

    const node = this.node;
    this._status = el('p', {
      id: 'jp-msal-signin-status',
      class: 'jp-msal-signin-status',
      'aria-live': 'polite'
    });
    node.appendChild(this._status);

    // device code instructions
    this._deviceCode = el('div', { class: 'jp-msal-devicecode' });
    this._link = el('a', {
      id: 'jp-msal-verification-link',
      class: 'jp-msal-verification-link',
      target: '_blank',
      rel: 'noopener noreferrer'
    });
    const step1 = appendSentence(
      el('p', { class: 'jp-msal-step' }),
      trans.__('1. Open %1 in a browser (any device).', LINK_MARKER),
      LINK_MARKER,
      this._link
    );
    const step2 = el(
      'p',
      { class: 'jp-msal-step' },
      trans.__('2. Enter this code:')
    );
    const row = el('div', { class: 'jp-msal-code-row' });
    this._code = el('input', {
      id: 'jp-msal-user-code',
      class: 'jp-msal-user-code',
      type: 'text',
      readonly: 'readonly',
      'aria-label': trans.__('Sign-in code'),
      spellcheck: 'false',
      autocomplete: 'off'
    });
    this._code.addEventListener('focus', () => this._code.select());
    this._copy = el(
      'button',
      {
        id: 'jp-msal-copy-code',
        class: 'jp-msal-button jp-msal-copy-code',
        type: 'button',
        title: trans.__('Copy the code to the clipboard')
      },
      trans.__('Copy')
    );
    this._copy.addEventListener('click', () => void this._onCopy());
    row.appendChild(this._code);
    row.appendChild(this._copy);
    this._copyFeedback = el('p', {
      id: 'jp-msal-copy-feedback',
      class: 'jp-msal-copy-feedback',
      'aria-live': 'polite'
    });
    this._countdown = el('p', {
      id: 'jp-msal-countdown',
      class: 'jp-msal-countdown'
    });
    this._deviceCode.append(
      step1,
      step2,
      row,
      this._copyFeedback,
      this._countdown
    );
    node.appendChild(this._deviceCode);

    // sign-in in the browser: the page in a new tab, or the pasted address
    this._browser = new BrowserStep(trans, url => this._session.complete(url));
    node.appendChild(this._browser.node);

    this._note = el('p', { class: 'jp-msal-note' });
    node.appendChild(this._note);

    this._problem = el('div', {
      id: 'jp-msal-signin-problem',
      class: 'jp-msal-problem',
      role: 'alert'
    });
    node.appendChild(this._problem);

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
    node.appendChild(this._retry);

    this._session = options.session;
    this._session.changed.connect(this._render, this);
    this._render();
    this._ticker = window.setInterval(() => this._renderCountdown(), 1000);
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
    this._copyFeedback.textContent = '';
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

  private async _onCopy(): Promise<void> {
    const code = this._session.flow?.user_code;
    if (!code) {
      return;
    }
    const outcome = await copyText(code, this._code);
    this._copyFeedback.dataset.outcome = outcome;
    this._copyFeedback.textContent =
      outcome === 'manual'
        ? this._trans.__(
            'Copying is blocked here: the code is selected, press Ctrl+C (⌘C) to copy it.'
          )
        : this._trans.__('Copied.');
  }

  private _render(): void {
    const trans = this._trans;
    const session = this._session;
    const phase = session.phase;
    const flow = session.flow;
    this.node.dataset.phase = phase;
    this.node.dataset.method = flow?.method ?? session.method;

    const userCode = flow?.user_code ?? '';
    const showCode = phase === 'pending' && !!userCode;
    this._deviceCode.hidden = !showCode;
    if (showCode) {
      if (this._code.value !== userCode) {
        this._code.value = userCode;
        this._code.size = Math.max(8, userCode.length + 1);
      }
      const href = safeHttpUrl(flow?.verification_uri);
      this._link.textContent = flow?.verification_uri ?? '';
      if (href) {
        this._link.href = href;
      } else {
        this._link.removeAttribute('href');
      }
    }

    this._browser.render(flow, phase === 'pending');
    const inBrowser = phase === 'pending' && !!flow?.sign_in_url;

    let status = '';
    switch (phase) {
      case 'idle':
      case 'starting':
        status = trans.__('Asking the Jupyter server for a sign-in code…');
        break;
      case 'pending':
        status = userCode
          ? trans.__('Waiting for you to sign in…')
          : inBrowser
            ? trans.__('Waiting for you to sign in in the new tab…')
            : trans.__(
                'Finish signing in in the window that opened on the computer running Jupyter…'
              );
        break;
      case 'succeeded':
        status = flow?.account?.username
          ? trans.__('Signed in as %1.', flow.account.username)
          : trans.__('Signed in.');
        break;
      default:
        status = '';
    }
    this._status.textContent = status;
    this._status.hidden = !status;

    const note = !flow?.fallback_reason
      ? ''
      : flow.method === 'auth_code'
        ? flow.fallback_reason
        : trans.__('The sign-in broker was not used: %1', flow.fallback_reason);
    this._note.textContent = note;
    this._note.hidden = !note || session.isDone;

    const failed =
      session.isDone && phase !== 'succeeded' && phase !== 'cancelled';
    this._problem.hidden = !failed;
    this._problem.textContent = '';
    if (failed) {
      const problem = describeProblem(session.error, phase, trans);
      this._problem.dataset.kind = problem.kind;
      this._problem.appendChild(
        el('strong', { class: 'jp-msal-problem-title' }, problem.title)
      );
      this._problem.appendChild(
        el('p', { class: 'jp-msal-problem-detail' }, problem.detail)
      );
    }
    this._retry.hidden = !failed || !this._restartFactory;
    this._renderCountdown();

    this.onRender?.(session);
  }

  private _renderCountdown(): void {
    const left = this._session.secondsLeft();
    if (this._session.phase !== 'pending' || left === null) {
      this._countdown.textContent = '';
      return;
    }
    this._countdown.dataset.seconds = String(Math.floor(left));
    this._countdown.textContent =
      left > 0
        ? this._trans.__('The code expires in %1.', formatCountdown(left))
        : this._trans.__('The code has expired.');
    this._countdown.classList.toggle('jp-msal-countdown-low', left < 60);
  }

  private _trans: TranslationBundle;
  private _session: SignInSession;
  private _restartFactory: (() => SignInSession) | null;
  private _status: HTMLParagraphElement;
  private _deviceCode: HTMLDivElement;
  private _browser: BrowserStep;
  private _link: HTMLAnchorElement;
  private _code: HTMLInputElement;
  private _copy: HTMLButtonElement;
  private _copyFeedback: HTMLParagraphElement;
  private _countdown: HTMLParagraphElement;
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
  const setButtons = (finished: boolean) => {
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
  };
  body.onRender = session => {
    setButtons(session.isDone);
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

/**
 * The sign-in dialog's step for a device-code sign-in: the verification
 * link, the user code in large type with a copy button, and a countdown.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { formatCountdown } from '../messages';
import { SignInSession } from '../model/signInSession';
import { copyText } from '../util/clipboard';
import { appendSentence, el, safeHttpUrl } from '../util/dom';

/** Where the verification link goes in its translated sentence. */
const LINK_MARKER = '{link}';

/** The DOM of the device-code step; `render` follows the session. */
export class DeviceCodeStep {
  /** @param trans the dialog's translations */
  constructor(trans: TranslationBundle) {
    this._trans = trans;
    this._link = el('a', {
      id: 'jp-msal-verification-link',
      class: 'jp-msal-verification-link',
      target: '_blank',
      rel: 'noopener noreferrer'
    });
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
    this._copyFeedback = el('p', {
      id: 'jp-msal-copy-feedback',
      class: 'jp-msal-copy-feedback',
      'aria-live': 'polite'
    });
    this._countdown = el('p', {
      id: 'jp-msal-countdown',
      class: 'jp-msal-countdown'
    });
    this.node = el('div', { class: 'jp-msal-devicecode' });
    this.node.append(
      appendSentence(
        el('p', { class: 'jp-msal-step' }),
        trans.__('1. Open %1 in a browser (any device).', LINK_MARKER),
        LINK_MARKER,
        this._link
      ),
      el('p', { class: 'jp-msal-step' }, trans.__('2. Enter this code:')),
      this._codeRow(),
      this._copyFeedback,
      this._countdown
    );
  }

  /** The step's element (hidden unless a user code is to be entered). */
  readonly node: HTMLDivElement;

  /** Show the session's code and link (hidden unless one is pending). */
  render(session: SignInSession): void {
    this._session = session;
    const flow = session.flow;
    const userCode = flow?.user_code ?? '';
    const show = session.phase === 'pending' && !!userCode;
    this.node.hidden = !show;
    if (show) {
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
    this.renderCountdown();
  }

  /** Show the time left (called every second). */
  renderCountdown(): void {
    const session = this._session;
    const left = session?.secondsLeft() ?? null;
    if (session?.phase !== 'pending' || left === null) {
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

  /** Forget what copying said (a new session started). */
  clearFeedback(): void {
    this._copyFeedback.textContent = '';
  }

  /** The code and its copy button. */
  private _codeRow(): HTMLDivElement {
    const copy = el(
      'button',
      {
        id: 'jp-msal-copy-code',
        class: 'jp-msal-button jp-msal-copy-code',
        type: 'button',
        title: this._trans.__('Copy the code to the clipboard')
      },
      this._trans.__('Copy')
    );
    copy.addEventListener('click', () => void this._onCopy());
    const row = el('div', { class: 'jp-msal-code-row' });
    row.append(this._code, copy);
    return row;
  }

  private async _onCopy(): Promise<void> {
    const code = this._session?.flow?.user_code;
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

  private _trans: TranslationBundle;
  private _session: SignInSession | null = null;
  private _link: HTMLAnchorElement;
  private _code: HTMLInputElement;
  private _copyFeedback: HTMLParagraphElement;
  private _countdown: HTMLParagraphElement;
}

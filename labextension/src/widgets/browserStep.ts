/**
 * The sign-in dialog's step for a sign-in in the browser (authorization
 * code): a button that opens the identity provider's page in a new tab, and
 * a field for the address the browser ended on, for when its redirect cannot
 * reach the server.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IFlow } from '../api';
import { el, safeHttpUrl } from '../util/dom';

/** The DOM of the browser step; `render` follows the flow. */
export class BrowserStep {
  /**
   * @param trans the dialog's translations
   * @param complete sends a pasted address to the server; resolves with the
   *   problem in words, or null when it worked
   */
  constructor(
    trans: TranslationBundle,
    complete: (url: string) => Promise<string | null>
  ) {
    this._complete = complete;
    this.node = el('div', { class: 'jp-msal-browser-step' });
    this._open = el(
      'a',
      {
        id: 'jp-msal-open-sign-in',
        class:
          'jp-msal-button jp-mod-styled jp-mod-accept jp-msal-open-sign-in',
        role: 'button',
        target: '_blank',
        rel: 'noopener noreferrer'
      },
      trans.__('Open the sign-in page')
    );
    const intro = el(
      'p',
      { class: 'jp-msal-step' },
      trans.__(
        'Sign in on the page that opens in a new tab. It says "Signed in" when it is done, and this dialog closes.'
      )
    );
    const pasteHelp = el(
      'p',
      { class: 'jp-msal-step jp-msal-paste-help' },
      trans.__(
        'If the tab shows an error page instead (it cannot reach this server), copy the address it ended on and paste it here:'
      )
    );
    this._paste = el('input', {
      id: 'jp-msal-paste-address',
      class: 'jp-msal-paste-address',
      type: 'text',
      spellcheck: 'false',
      autocomplete: 'off',
      placeholder: trans.__('http://localhost:…/?code=…&state=…'),
      'aria-label': trans.__('The address the browser ended on')
    });
    this._send = el(
      'button',
      {
        id: 'jp-msal-paste-complete',
        class: 'jp-msal-button jp-msal-paste-complete',
        type: 'button'
      },
      trans.__('Complete sign-in')
    );
    this._send.addEventListener('click', () => void this._onSend(trans));
    this._feedback = el('p', {
      id: 'jp-msal-paste-feedback',
      class: 'jp-msal-paste-feedback',
      'aria-live': 'polite'
    });
    const row = el('div', { class: 'jp-msal-code-row' });
    row.append(this._paste, this._send);
    this.node.append(intro, this._open, pasteHelp, row, this._feedback);
  }

  /** The step's root element (hidden unless the flow signs in in the browser). */
  readonly node: HTMLDivElement;

  /** Show the step for a pending flow with a sign-in page, hide it otherwise. */
  render(flow: IFlow | null, pending: boolean): void {
    const href = safeHttpUrl(flow?.sign_in_url);
    this.node.hidden = !(pending && href);
    if (href && this._open.href !== href) {
      this._open.href = href;
    }
  }

  private async _onSend(trans: TranslationBundle): Promise<void> {
    const address = this._paste.value.trim();
    if (!address) {
      this._feedback.textContent = trans.__('Paste the address first.');
      return;
    }
    this._send.disabled = true;
    this._feedback.textContent = trans.__('Completing the sign-in…');
    const problem = await this._complete(address);
    this._send.disabled = false;
    this._feedback.textContent = problem ?? '';
  }

  private _complete: (url: string) => Promise<string | null>;
  private _open: HTMLAnchorElement;
  private _paste: HTMLInputElement;
  private _send: HTMLButtonElement;
  private _feedback: HTMLParagraphElement;
}

/**
 * The always-visible indicator: "Sign in to Microsoft", or who is signed in.
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { el } from '../util/dom';
import { translationBundle } from '../util/i18n';
import { accountNames, indicatorLabel } from '../messages';
import { AccountsModel } from '../model/accounts';

/** Four coloured squares (inline SVG, no external asset). */
const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">' +
  '<rect x="1" y="1" width="6.5" height="6.5" fill="#f25022"/><rect x="8.5" y="1" width="6.5" height="6.5" fill="#7fba00"/>' +
  '<rect x="1" y="8.5" width="6.5" height="6.5" fill="#00a4ef"/><rect x="8.5" y="8.5" width="6.5" height="6.5" fill="#ffb900"/></svg>';

/**
 * The indicator. Click (or Enter/Space) calls `onActivate`.
 */
export class MsalIndicator extends Widget {
  constructor(options: MsalIndicator.IOptions) {
    super();
    this.id = 'jp-msal-indicator';
    this.addClass('jp-msal-indicator');
    this._model = options.model;
    this._trans = translationBundle(options.translator);
    const node = this.node;
    node.setAttribute('role', 'button');
    node.setAttribute('tabindex', '0');
    node.setAttribute('aria-haspopup', 'dialog');
    const icon = el('span', { class: 'jp-msal-indicator-icon' });
    icon.innerHTML = ICON_SVG; // static markup, no data
    this._label = el('span', { class: 'jp-msal-indicator-label' });
    node.append(icon, this._label);
    node.addEventListener('click', () => options.onActivate());
    node.addEventListener('keydown', (event: KeyboardEvent) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        options.onActivate();
      }
    });
    this._model.changed.connect(this.render, this);
    this.render();
  }

  /** The text shown. */
  get label(): string {
    return this._label.textContent ?? '';
  }

  /** Show the model's state (called whenever it changes). */
  render(): void {
    const trans = this._trans;
    const model = this._model;
    const accounts = model.accounts;
    this._label.textContent = indicatorLabel(model.state, accounts, trans);
    this.node.dataset.state = model.state;
    this.node.dataset.accounts = String(accounts.length);
    this.node.classList.toggle('jp-msal-signed-in', accounts.length > 0);
    this.node.classList.toggle(
      'jp-msal-problem-state',
      model.state === 'error' || model.state === 'unavailable'
    );
    let title: string;
    if (accounts.length) {
      title = trans.__('Signed in to Microsoft as %1', accountNames(accounts));
    } else if (model.state === 'ok') {
      title = trans.__('Not signed in to Microsoft. Click to sign in.');
    } else {
      title = trans.__('Microsoft sign-in');
    }
    if (model.lastError) {
      title += `\n${model.lastError.message}`;
    }
    this.node.title = title;
    this.node.setAttribute('aria-label', title);
  }

  dispose(): void {
    this._model.changed.disconnect(this.render, this);
    super.dispose();
  }

  private _model: AccountsModel;
  private _trans: TranslationBundle;
  private _label: HTMLSpanElement;
}

/** The `MsalIndicator` namespace. */
export namespace MsalIndicator {
  /** Options of the indicator. */
  export interface IOptions {
    /** The accounts to show. */
    model: AccountsModel;
    /** Called on a click, Enter or Space. */
    onActivate: () => void;
    /** Translates the indicator's words. */
    translator?: ITranslator | null;
  }
}

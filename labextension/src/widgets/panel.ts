/**
 * The accounts panel the indicator opens: every account with a sign-out
 * button, sign in, sign out of all, the server's warnings and the effective
 * non-secret configuration for support questions. It renders from the
 * model whenever the model changes; `AccountsPopup` opens and closes it.
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { INACTIVE } from '../api';
import { AccountsModel } from '../model/accounts';
import { el } from '../util/dom';
import { translationBundle } from '../util/i18n';
import {
  IPanelActions,
  renderAccounts,
  renderActions,
  renderConfig,
  renderNotes,
  renderSyncProblem
} from './panelSections';

export type { IPanelActions } from './panelSections';

/**
 * The accounts panel's content: a list of accounts (sign out each), sign
 * out all, sign in, and the effective non-secret configuration.
 */
export class AccountsPanel extends Widget {
  constructor(options: AccountsPanel.IOptions) {
    super();
    this._trans = translationBundle(options.translator);
    this.id = 'jp-msal-panel';
    this.addClass('jp-msal-panel');
    this.node.setAttribute('role', 'dialog');
    this.node.setAttribute('aria-label', this._trans.__('Microsoft accounts'));
    this.node.tabIndex = -1;
    this._model = options.model;
    this._actions = { ...options.actions, close: options.close };
    this._model.changed.connect(this.render, this);
  }

  /** Whether the configuration section is unfolded (kept across openings). */
  configOpen = false;

  /** Show the model's state (called whenever it changes, while on the page). */
  render(): void {
    if (!this.isAttached) {
      return;
    }
    const trans = this._trans;
    const model = this._model;
    const node = this.node;
    node.textContent = '';
    node.dataset.state = model.state;
    node.appendChild(
      el(
        'div',
        { class: 'jp-msal-panel-title' },
        trans.__('Microsoft accounts')
      )
    );
    node.append(...renderSyncProblem(model, trans));
    node.append(...renderAccounts(model, this._actions, trans));
    if (model.lastError?.code === INACTIVE) {
      // nothing to sign in to until the server is fixed and restarted
      return;
    }
    node.appendChild(renderActions(model, this._actions, trans));
    node.append(...renderNotes(model.status));
    node.appendChild(
      renderConfig(
        model.status,
        this.configOpen,
        open => (this.configOpen = open),
        trans
      )
    );
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this.render, this);
    super.dispose();
  }

  /** Render, take the focus, and load fresh configuration and accounts. */
  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.render();
    this.node.focus();
    void this._model.loadStatus();
  }

  private _trans: TranslationBundle;
  private _model: AccountsModel;
  private _actions: IPanelActions & { close(): void };
}

/** The `AccountsPanel` namespace. */
export namespace AccountsPanel {
  /** Options of the panel. */
  export interface IOptions {
    /** The accounts and status to show. */
    model: AccountsModel;
    /** What its buttons do. */
    actions: IPanelActions;
    /** Close the popup the panel is in (before a sign-in starts). */
    close: () => void;
    /** Translates the panel's words. */
    translator?: ITranslator | null;
  }
}

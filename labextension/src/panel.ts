/**
 * The accounts panel the indicator opens: every account with a sign-out
 * button, sign in, sign out of all, the server's warnings and the effective
 * non-secret configuration for support questions.
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IAccount, INACTIVE } from './api';
import { copyText } from './clipboard';
import { el } from './dom';
import { translationBundle } from './i18n';
import { configLines, configText, statusWarnings } from './messages';
import { AccountsModel } from './model';

/** What the accounts panel asks the application to do. */
export interface IPanelActions {
  /** Start a sign-in. */
  signIn(): void;
  /** Sign out of one account. */
  signOut(account: IAccount): void;
  /** Sign out of every account (after asking). */
  signOutAll(): void;
}

/**
 * The accounts panel: a popup listing accounts (sign out each), sign out all,
 * sign in, and the effective non-secret configuration for support questions.
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
    this._actions = options.actions;
    this._model.changed.connect(this._render, this);
    this._onDocumentMouseDown = this._onDocumentMouseDown.bind(this);
    this._onKeyDown = this._onKeyDown.bind(this);
    this.node.addEventListener('keydown', this._onKeyDown);
  }

  /** Whether the panel is on the page. */
  get isOpen(): boolean {
    return this.isAttached;
  }

  /** Open next to `anchor` (or at the top right when there is none). */
  open(anchor: HTMLElement | null): void {
    this._anchor = anchor;
    if (!this.isAttached) {
      Widget.attach(this, document.body);
      document.addEventListener('mousedown', this._onDocumentMouseDown, true);
    }
    this._render();
    this._position();
    this.node.focus();
    // fresh configuration and accounts whenever the panel opens
    void this._model.loadStatus();
  }

  /** Close the panel and give the focus back to its anchor. */
  close(): void {
    if (!this.isAttached) {
      return;
    }
    document.removeEventListener('mousedown', this._onDocumentMouseDown, true);
    Widget.detach(this);
    const anchor = this._anchor;
    if (anchor && document.body.contains(anchor)) {
      anchor.focus();
    }
  }

  /** Open the panel next to `anchor`, or close it when it is open. */
  toggle(anchor: HTMLElement | null): void {
    if (this.isOpen) {
      this.close();
    } else {
      this.open(anchor);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.close();
    this._model.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _position(): void {
    const style = this.node.style;
    style.top = style.bottom = style.left = style.right = '';
    const anchor = this._anchor;
    if (!anchor || !document.body.contains(anchor)) {
      style.top = '40px';
      style.right = '16px';
      return;
    }
    const rect = anchor.getBoundingClientRect();
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    if (rect.top > vh / 2) {
      style.bottom = `${Math.max(4, vh - rect.top + 4)}px`;
    } else {
      style.top = `${rect.bottom + 4}px`;
    }
    if (rect.left > vw / 2) {
      style.right = `${Math.max(4, vw - rect.right)}px`;
    } else {
      style.left = `${Math.max(4, rect.left)}px`;
    }
  }

  private _onDocumentMouseDown(event: MouseEvent): void {
    const target = event.target as Node | null;
    if (!target) {
      return;
    }
    if (this.node.contains(target)) {
      return;
    }
    if (this._anchor && this._anchor.contains(target)) {
      // the anchor's click handler toggles the panel
      return;
    }
    this.close();
  }

  private _onKeyDown(event: KeyboardEvent): void {
    if (event.key === 'Escape') {
      event.stopPropagation();
      event.preventDefault();
      this.close();
    }
  }

  private _render(): void {
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

    if (model.state === 'error' || model.state === 'unavailable') {
      const banner = el('div', {
        class: 'jp-msal-sync-problem',
        role: 'status'
      });
      const inactive = model.lastError?.code === INACTIVE;
      // jupyter-msal could not start on the server: its reason, then what to do
      banner.textContent = inactive
        ? (model.lastError?.message ?? '')
        : model.state === 'unavailable'
          ? trans.__(
              'The jupyter-msal server extension does not answer. Is it installed and enabled?'
            )
          : trans.__(
              'Cannot reach the Jupyter server (%1). Retrying…',
              model.lastError?.message ?? trans.__('unknown error')
            );
      node.appendChild(banner);
      if (inactive && model.lastError?.hint) {
        node.appendChild(
          el('p', { class: 'jp-msal-inactive-hint' }, model.lastError.hint)
        );
      }
    }

    const accounts = model.accounts;
    if (accounts.length) {
      const list = el('ul', { class: 'jp-msal-accounts' });
      for (const account of accounts) {
        const item = el('li', {
          class: 'jp-msal-account',
          'data-username': account.username,
          'data-home-account-id': account.home_account_id
        });
        const text = el('div', { class: 'jp-msal-account-text' });
        text.appendChild(
          el(
            'span',
            { class: 'jp-msal-account-name' },
            account.username || account.home_account_id
          )
        );
        if (account.tenant_id) {
          text.appendChild(
            el(
              'span',
              { class: 'jp-msal-account-tenant' },
              trans.__('tenant %1', account.tenant_id)
            )
          );
        }
        if (account.sign_in_method === 'hub') {
          // it belongs to the JupyterHub login: logging out of the hub ends it
          text.appendChild(
            el(
              'span',
              { class: 'jp-msal-account-hub' },
              trans.__('through your JupyterHub login')
            )
          );
          item.append(text);
          list.appendChild(item);
          continue;
        }
        const button = el(
          'button',
          {
            class: 'jp-msal-button jp-msal-signout',
            type: 'button',
            title: trans.__('Sign out of %1', account.username)
          },
          trans.__('Sign out')
        );
        button.addEventListener('click', () => this._actions.signOut(account));
        item.append(text, button);
        list.appendChild(item);
      }
      node.appendChild(list);
    } else if (model.state === 'ok') {
      node.appendChild(
        el(
          'p',
          { class: 'jp-msal-no-accounts' },
          trans.__('You are not signed in to Microsoft.')
        )
      );
    } else if (model.state === 'loading') {
      node.appendChild(
        el('p', { class: 'jp-msal-no-accounts' }, trans.__('Loading…'))
      );
    }

    if (model.lastError?.code === INACTIVE) {
      // nothing to sign in to until the server is fixed and restarted
      return;
    }
    const actions = el('div', { class: 'jp-msal-actions' });
    const signIn = el(
      'button',
      {
        id: 'jp-msal-signin',
        class: 'jp-msal-button jp-mod-accept',
        type: 'button'
      },
      accounts.length
        ? trans.__('Sign in with another account…')
        : trans.__('Sign in…')
    );
    signIn.addEventListener('click', () => {
      this.close();
      this._actions.signIn();
    });
    actions.appendChild(signIn);
    if (accounts.length > 1) {
      const all = el(
        'button',
        { id: 'jp-msal-signout-all', class: 'jp-msal-button', type: 'button' },
        trans.__('Sign out of all')
      );
      all.addEventListener('click', () => this._actions.signOutAll());
      actions.appendChild(all);
    }
    node.appendChild(actions);

    const status = model.status;
    const hub = status?.hub;
    if (hub?.url && !hub.in_use && hub.note) {
      // on a hub whose login gives no tokens here: say why (then sign in here)
      node.appendChild(el('p', { class: 'jp-msal-hub-note' }, hub.note));
    }
    const warnings = statusWarnings(status);
    if (warnings.length) {
      const box = el('ul', { class: 'jp-msal-warnings' });
      for (const warning of warnings) {
        box.appendChild(el('li', { class: 'jp-msal-warning' }, warning));
      }
      node.appendChild(box);
    }

    const details = el('details', {
      class: 'jp-msal-config',
      id: 'jp-msal-config'
    });
    details.open = this._detailsOpen;
    details.addEventListener('toggle', () => {
      this._detailsOpen = details.open;
    });
    details.appendChild(
      el('summary', {}, trans.__('Configuration (for support questions)'))
    );
    const lines = configLines(status, trans);
    if (lines.length) {
      const dl = el('dl', { class: 'jp-msal-config-list' });
      for (const line of lines) {
        const dt = el('dt', {}, line.label);
        const dd = el('dd', {}, line.value);
        if (line.warning) {
          dd.classList.add('jp-msal-config-warning');
        }
        dl.append(dt, dd);
      }
      details.appendChild(dl);
      const copy = el(
        'button',
        { class: 'jp-msal-button jp-msal-copy-config', type: 'button' },
        trans.__('Copy details')
      );
      copy.addEventListener('click', async () => {
        const outcome = await copyText(configText(status, trans));
        copy.textContent =
          outcome === 'manual' ? trans.__('Copy failed') : trans.__('Copied');
      });
      details.appendChild(copy);
    } else {
      details.appendChild(el('p', {}, trans.__('Not loaded yet.')));
    }
    node.appendChild(details);
  }

  private _trans: TranslationBundle;
  private _model: AccountsModel;
  private _actions: IPanelActions;
  private _anchor: HTMLElement | null = null;
  private _detailsOpen = false;
}

/** The `AccountsPanel` namespace. */
export namespace AccountsPanel {
  /** Options of the panel. */
  export interface IOptions {
    /** The accounts and status to show. */
    model: AccountsModel;
    /** What its buttons do. */
    actions: IPanelActions;
    /** Translates the panel's words. */
    translator?: ITranslator | null;
  }
}

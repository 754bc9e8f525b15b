/**
 * The always-visible indicator ("Sign in to Microsoft" or who is signed in)
 * and the accounts panel it opens.
 */
import { Widget } from '@lumino/widgets';

import { IAccount } from './api';
import { copyText } from './clipboard';
import {
  configLines,
  configText,
  indicatorLabel,
  statusWarnings
} from './messages';
import { AccountsModel } from './model';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: { [key: string]: string } = {},
  textContent?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') {
      node.className = value;
    } else {
      node.setAttribute(key, value);
    }
  }
  if (textContent !== undefined) {
    node.textContent = textContent;
  }
  return node;
}

/** Four coloured squares (inline SVG, no external asset). */
const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">' +
  '<rect x="1" y="1" width="6.5" height="6.5" fill="#f25022"/><rect x="8.5" y="1" width="6.5" height="6.5" fill="#7fba00"/>' +
  '<rect x="1" y="8.5" width="6.5" height="6.5" fill="#00a4ef"/><rect x="8.5" y="8.5" width="6.5" height="6.5" fill="#ffb900"/></svg>';

/**
 * The indicator. Click (or Enter/Space) calls `onActivate`.
 */
export class MsalIndicator extends Widget {
  constructor(options: { model: AccountsModel; onActivate: () => void }) {
    super();
    this.id = 'jp-msal-indicator';
    this.addClass('jp-msal-indicator');
    this._model = options.model;
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

  render(): void {
    const model = this._model;
    const accounts = model.accounts;
    const label = indicatorLabel(model.state, accounts);
    this._label.textContent = label;
    this.node.dataset.state = model.state;
    this.node.dataset.accounts = String(accounts.length);
    this.node.classList.toggle('jp-msal-signed-in', accounts.length > 0);
    this.node.classList.toggle(
      'jp-msal-problem-state',
      model.state === 'error' || model.state === 'unavailable'
    );
    let title: string;
    if (accounts.length) {
      title = `Signed in to Microsoft as ${accounts.map(a => a.username).join(', ')}`;
    } else if (model.state === 'ok') {
      title = 'Not signed in to Microsoft. Click to sign in.';
    } else {
      title = 'Microsoft sign-in';
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
  private _label: HTMLSpanElement;
}

/** What the accounts panel asks the application to do. */
export interface IPanelActions {
  signIn(): void;
  signOut(account: IAccount): void;
  signOutAll(): void;
}

/**
 * The accounts panel: a popup listing accounts (sign out each), sign out all,
 * sign in, and the effective non-secret configuration for support questions.
 */
export class AccountsPanel extends Widget {
  constructor(options: { model: AccountsModel; actions: IPanelActions }) {
    super();
    this.id = 'jp-msal-panel';
    this.addClass('jp-msal-panel');
    this.node.setAttribute('role', 'dialog');
    this.node.setAttribute('aria-label', 'Microsoft accounts');
    this.node.tabIndex = -1;
    this._model = options.model;
    this._actions = options.actions;
    this._model.changed.connect(this._render, this);
    this._onDocumentMouseDown = this._onDocumentMouseDown.bind(this);
    this._onKeyDown = this._onKeyDown.bind(this);
    this.node.addEventListener('keydown', this._onKeyDown);
  }

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
    const model = this._model;
    const node = this.node;
    node.textContent = '';
    node.dataset.state = model.state;

    node.appendChild(
      el('div', { class: 'jp-msal-panel-title' }, 'Microsoft accounts')
    );

    if (model.state === 'error' || model.state === 'unavailable') {
      const banner = el('div', {
        class: 'jp-msal-sync-problem',
        role: 'status'
      });
      banner.textContent =
        model.state === 'unavailable'
          ? 'The jupyter-msal server extension does not answer. Is it installed and enabled?'
          : `Cannot reach the Jupyter server (${model.lastError?.message ?? 'unknown error'}). Retrying…`;
      node.appendChild(banner);
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
              `tenant ${account.tenant_id}`
            )
          );
        }
        const button = el(
          'button',
          {
            class: 'jp-msal-button jp-msal-signout',
            type: 'button',
            title: `Sign out of ${account.username}`
          },
          'Sign out'
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
          'You are not signed in to Microsoft.'
        )
      );
    } else if (model.state === 'loading') {
      node.appendChild(el('p', { class: 'jp-msal-no-accounts' }, 'Loading…'));
    }

    const actions = el('div', { class: 'jp-msal-actions' });
    const signIn = el(
      'button',
      {
        id: 'jp-msal-signin',
        class: 'jp-msal-button jp-mod-accept',
        type: 'button'
      },
      accounts.length ? 'Sign in with another account…' : 'Sign in…'
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
        'Sign out of all'
      );
      all.addEventListener('click', () => this._actions.signOutAll());
      actions.appendChild(all);
    }
    node.appendChild(actions);

    const status = model.status;
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
      el('summary', {}, 'Configuration (for support questions)')
    );
    const lines = configLines(status);
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
        'Copy details'
      );
      copy.addEventListener('click', async () => {
        const outcome = await copyText(configText(status));
        copy.textContent = outcome === 'manual' ? 'Copy failed' : 'Copied';
      });
      details.appendChild(copy);
    } else {
      details.appendChild(el('p', {}, 'Not loaded yet.'));
    }
    node.appendChild(details);
  }

  private _model: AccountsModel;
  private _actions: IPanelActions;
  private _anchor: HTMLElement | null = null;
  private _detailsOpen = false;
}

/**
 * The sections of the accounts panel, each rendered from the model into a
 * fresh element: the sync problem, the accounts, the buttons, the server's
 * notes and warnings, and the configuration for support questions.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IAccount, INACTIVE, IStatus } from '../api';
import { configLines, configText, statusWarnings } from '../messages';
import { AccountsModel } from '../model/accounts';
import { copyText } from '../util/clipboard';
import { el } from '../util/dom';

/** What the accounts panel asks the application to do. */
export interface IPanelActions {
  /** Start a sign-in. */
  signIn(): void;
  /** Sign out of one account. */
  signOut(account: IAccount): void;
  /** Sign out of every account (after asking). */
  signOutAll(): void;
}

/** The banner saying why the page is not in sync with the server, if it is not. */
export function renderSyncProblem(
  model: AccountsModel,
  trans: TranslationBundle
): HTMLElement[] {
  if (model.state !== 'error' && model.state !== 'unavailable') {
    return [];
  }
  const error = model.lastError;
  const inactive = error?.code === INACTIVE;
  // jupyter-msal could not start on the server: its reason, then what to do
  const text = inactive
    ? (error?.message ?? '')
    : model.state === 'unavailable'
      ? trans.__(
          'The jupyter-msal server extension does not answer. Is it installed and enabled?'
        )
      : trans.__(
          'Cannot reach the Jupyter server (%1). Retrying…',
          error?.message ?? trans.__('unknown error')
        );
  const banner = el(
    'div',
    { class: 'jp-msal-sync-problem', role: 'status' },
    text
  );
  if (!(inactive && error?.hint)) {
    return [banner];
  }
  return [banner, el('p', { class: 'jp-msal-inactive-hint' }, error.hint)];
}

/** One account: its name, tenant, and a sign-out button (none for a hub login). */
function renderAccount(
  account: IAccount,
  actions: IPanelActions,
  trans: TranslationBundle
): HTMLElement {
  const item = el('li', {
    class: 'jp-msal-account',
    'data-username': account.username,
    'data-home-account-id': account.home_account_id
  });
  const text = el('div', { class: 'jp-msal-account-text' });
  const name = account.username || account.home_account_id;
  text.appendChild(el('span', { class: 'jp-msal-account-name' }, name));
  if (account.tenant_id) {
    const tenant = trans.__('tenant %1', account.tenant_id);
    text.appendChild(el('span', { class: 'jp-msal-account-tenant' }, tenant));
  }
  if (account.sign_in_method === 'hub') {
    // it belongs to the JupyterHub login: logging out of the hub ends it
    const note = trans.__('through your JupyterHub login');
    text.appendChild(el('span', { class: 'jp-msal-account-hub' }, note));
    item.append(text);
    return item;
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
  button.addEventListener('click', () => actions.signOut(account));
  item.append(text, button);
  return item;
}

/** The accounts, or a sentence saying there are none (or not yet). */
export function renderAccounts(
  model: AccountsModel,
  actions: IPanelActions,
  trans: TranslationBundle
): HTMLElement[] {
  if (model.accounts.length) {
    const list = el('ul', { class: 'jp-msal-accounts' });
    for (const account of model.accounts) {
      list.appendChild(renderAccount(account, actions, trans));
    }
    return [list];
  }
  const none: { [state: string]: string } = {
    ok: trans.__('You are not signed in to Microsoft.'),
    loading: trans.__('Loading…')
  };
  const text = none[model.state];
  return text ? [el('p', { class: 'jp-msal-no-accounts' }, text)] : [];
}

/** Sign in, and sign out of all when there are several accounts. */
export function renderActions(
  model: AccountsModel,
  actions: IPanelActions & { close(): void },
  trans: TranslationBundle
): HTMLElement {
  const accounts = model.accounts;
  const box = el('div', { class: 'jp-msal-actions' });
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
    actions.close();
    actions.signIn();
  });
  box.appendChild(signIn);
  if (accounts.length > 1) {
    const all = el(
      'button',
      { id: 'jp-msal-signout-all', class: 'jp-msal-button', type: 'button' },
      trans.__('Sign out of all')
    );
    all.addEventListener('click', () => actions.signOutAll());
    box.appendChild(all);
  }
  return box;
}

/** Why a JupyterHub login gives no tokens here, and the server's warnings. */
export function renderNotes(status: IStatus | null): HTMLElement[] {
  const notes: HTMLElement[] = [];
  const hub = status?.hub;
  if (hub?.url && !hub.in_use && hub.note) {
    // on a hub whose login gives no tokens here: say why (then sign in here)
    notes.push(el('p', { class: 'jp-msal-hub-note' }, hub.note));
  }
  const warnings = statusWarnings(status);
  if (warnings.length) {
    const box = el('ul', { class: 'jp-msal-warnings' });
    for (const warning of warnings) {
      box.appendChild(el('li', { class: 'jp-msal-warning' }, warning));
    }
    notes.push(box);
  }
  return notes;
}

/** The configuration lines, and a button that copies them. */
function renderConfigList(
  status: IStatus | null,
  trans: TranslationBundle
): HTMLElement[] {
  const lines = configLines(status, trans);
  if (!lines.length) {
    return [el('p', {}, trans.__('Not loaded yet.'))];
  }
  const dl = el('dl', { class: 'jp-msal-config-list' });
  for (const line of lines) {
    const dd = el('dd', {}, line.value);
    if (line.warning) {
      dd.classList.add('jp-msal-config-warning');
    }
    dl.append(el('dt', {}, line.label), dd);
  }
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
  return [dl, copy];
}

/**
 * The effective configuration (for support questions), folded; `open` and
 * `onToggle` keep it open or closed across renders.
 */
export function renderConfig(
  status: IStatus | null,
  open: boolean,
  onToggle: (open: boolean) => void,
  trans: TranslationBundle
): HTMLElement {
  const details = el('details', {
    class: 'jp-msal-config',
    id: 'jp-msal-config'
  });
  details.open = open;
  details.addEventListener('toggle', () => onToggle(details.open));
  details.appendChild(
    el('summary', {}, trans.__('Configuration (for support questions)'))
  );
  details.append(...renderConfigList(status, trans));
  return details;
}

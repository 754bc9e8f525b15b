/**
 * What other extensions can use: the command ids and the `IMsalAccounts`
 * token (as jupyterlab-git exports `IGitExtension`).
 *
 * ```ts
 * import { IMsalAccounts } from 'jupyter-msal';
 *
 * const plugin: JupyterFrontEndPlugin<void> = {
 *   id: 'my-extension:plugin',
 *   autoStart: true,
 *   requires: [IMsalAccounts],
 *   activate: (app, msal: IMsalAccounts) => {
 *     msal.model.changed.connect(() => console.log(msal.model.accounts));
 *   }
 * };
 * ```
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { IAccount, IStatus, MsalApiError } from './api';
import type { SyncState } from './model/accounts';
import { SignInMethod } from './util/methods';

/** The command ids. */
export namespace CommandIDs {
  /** Sign in (argument `method`, optional). */
  export const signIn = 'jupyter-msal:sign-in';
  /** Sign out (arguments `account` or `all`, optional). */
  export const signOut = 'jupyter-msal:sign-out';
  /** Open the accounts panel. */
  export const showAccounts = 'jupyter-msal:show-accounts';
}

/**
 * The accounts signed in on the server, as the page knows them (read-only:
 * sign in with `IMsalAccounts.signIn`, sign out with the sign-out command).
 */
export interface IReadonlyAccountsModel {
  /** The signed-in accounts (usernames and ids; never a token). */
  readonly accounts: readonly IAccount[];
  /** Emitted whenever accounts, status or sync state change. */
  readonly changed: ISignal<unknown, void>;
  /** Whether the page is in sync with the server, and if not, why. */
  readonly state: SyncState;
  /** The server's account revision last seen (null before the first answer). */
  readonly revision: number | null;
  /** The error of the last failed request (null after a success). */
  readonly lastError: MsalApiError | null;
  /** Ask the server now; resolves once the answer is applied. */
  refresh(): Promise<void>;
}

/** What jupyter-msal offers other extensions. */
export interface IMsalAccounts {
  /** The accounts signed in on the server. */
  readonly model: IReadonlyAccountsModel;
  /**
   * The server's status document (configuration, cache, broker) last loaded;
   * null until something asked for it (see `loadStatus`).
   */
  readonly status: IStatus | null;
  /** Load the status document again (null when the server did not answer). */
  loadStatus(): Promise<IStatus | null>;
  /**
   * Start a sign-in as the user would from the page: the dialog, then a
   * notification. `method` defaults to the user's setting. Resolves when the
   * dialog closes (the sign-in may go on; watch `model.changed`).
   */
  signIn(method?: SignInMethod): Promise<void>;
}

/** The `IMsalAccounts` token: require it to use jupyter-msal's accounts. */
export const IMsalAccounts = new Token<IMsalAccounts>(
  'jupyter-msal:IMsalAccounts',
  'The Microsoft Entra ID accounts signed in on the Jupyter server, and sign-in.'
);

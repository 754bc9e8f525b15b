/**
 * Sign-in comes to the user: when a kernel, a terminal or a tool in one
 * (az, azcopy, DefaultAzureCredential) asks the server for a token while
 * nobody is signed in, the request fails at once and the server emits a
 * `token_wanted` event (model/serverEvents.ts). This shows it as a
 * notification, "az asked for a token for Azure Storage…", whose "Sign in"
 * button opens the sign-in dialog.
 *
 * At most one notification per resource per minute (the server holds back
 * its events likewise; several pages each show their own), none when an
 * account is signed in by the time the event arrives, and the ones showing
 * are dismissed once someone signs in.
 */
import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import type { AccountsModel } from '../model/accounts';
import type { ITokenWanted } from '../model/serverEvents';

/** At most one notification per resource in this many milliseconds. */
export const NOTIFY_WINDOW_MS = 60_000;

/** Who asked, in words that start a sentence ("az", "A terminal"). */
export function whoAsked(tool: string, trans: TranslationBundle): string {
  switch (tool) {
    case 'azure_cli':
      return 'az'; // the command's own name
    case 'azcopy':
      return 'azcopy';
    case 'azure_identity':
      return trans.__('Azure code (azure-identity)');
    case 'azure_sdk':
      return trans.__('An Azure SDK');
    case 'python':
      return trans.__('A Python program');
    case 'kernel':
      return trans.__('A kernel');
    case 'terminal':
      return trans.__('A terminal');
    case 'kernel_or_terminal':
      return trans.__('A kernel or terminal');
    case 'script':
      return trans.__('A script');
    default:
      return trans.__('A program in a kernel or terminal');
  }
}

/** The notification's text: who asked, for what, and what to do. */
export function tokenWantedMessage(
  wanted: ITokenWanted,
  trans: TranslationBundle
): string {
  return trans.__(
    '%1 asked for a token for %2, but nobody is signed in to Microsoft. Sign in, then run it again.',
    whoAsked(wanted.tool, trans),
    wanted.resource_name || wanted.resource
  );
}

/**
 * Shows token-wanted events as notifications with a "Sign in" button.
 */
export class TokenWantedNotifier implements IDisposable {
  constructor(options: TokenWantedNotifier.IOptions) {
    this._model = options.model;
    this._signIn = options.signIn;
    this._trans = options.trans;
    this._now = options.now ?? Date.now;
    this._model.changed.connect(this._onAccounts, this);
  }

  /** Whether it is disposed. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Notify of `wanted`, unless this resource was notified of less than a
   * minute ago or an account is signed in. Resolves with the notification's
   * id, or null when none was shown.
   */
  async notify(wanted: ITokenWanted): Promise<string | null> {
    const key = wanted.resource.replace(/\/+$/, '').toLowerCase();
    const last = this._shown.get(key);
    if (
      this._isDisposed ||
      (last !== undefined && this._now() - last < NOTIFY_WINDOW_MS)
    ) {
      return null;
    }
    this._forgetOld();
    this._shown.set(key, this._now()); // held while the accounts load, too
    if (this._model.state !== 'ok') {
      await this._model.refresh(); // the accounts were not known yet
    }
    if (this._isDisposed || this._model.accounts.length > 0) {
      this._shown.delete(key);
      return null;
    }
    const trans = this._trans;
    const id = Notification.warning(tokenWantedMessage(wanted, trans), {
      autoClose: false,
      actions: [
        {
          label: trans.__('Sign in'),
          caption: trans.__('Open the sign-in dialog'),
          displayType: 'accent',
          callback: () => this._signIn()
        }
      ]
    });
    this._ids.add(id);
    return id;
  }

  /** Stop following the accounts; notifications showing stay. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.changed.disconnect(this._onAccounts, this);
  }

  /** Forget the resources notified of more than a minute ago. */
  private _forgetOld(): void {
    const now = this._now();
    for (const [key, time] of this._shown) {
      if (now - time >= NOTIFY_WINDOW_MS) {
        this._shown.delete(key);
      }
    }
  }

  /** Someone signed in: the notifications asking for it have done their job. */
  private _onAccounts(): void {
    if (this._model.accounts.length === 0 || this._ids.size === 0) {
      return;
    }
    for (const id of this._ids) {
      Notification.dismiss(id);
    }
    this._ids.clear();
  }

  private _model: AccountsModel;
  private _signIn: () => void;
  private _trans: TranslationBundle;
  private _now: () => number;
  private _shown = new Map<string, number>();
  private _ids = new Set<string>();
  private _isDisposed = false;
}

/** The `TokenWantedNotifier` namespace. */
export namespace TokenWantedNotifier {
  /** Options of the notifier. */
  export interface IOptions {
    /** The accounts: no notification while one is signed in. */
    model: AccountsModel;
    /** Open the sign-in dialog (the sign-in command). */
    signIn: () => void;
    /** The translation bundle for the notification's words. */
    trans: TranslationBundle;
    /** The clock, in milliseconds (`Date.now` by default). */
    now?: () => number;
  }
}

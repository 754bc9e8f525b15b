/**
 * The front end's copy of the server's account state, kept in sync by
 * polling `GET jupyter-msal/accounts` (its `revision` tells what changed).
 *
 * Pure logic: no DOM widgets. Timers and page visibility are injected so the
 * state machine can be unit tested.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IAccount,
  IAccountsResponse,
  IMsalClient,
  IStatus,
  MsalApiError
} from './api';

/**
 * - `loading`: nothing known yet
 * - `ok`: the last poll succeeded
 * - `error`: the last poll failed (server unreachable, 403, 5xx); retrying with backoff
 * - `unavailable`: the server extension does not answer (404); retrying slowly
 */
export type SyncState = 'loading' | 'ok' | 'error' | 'unavailable';

/** Something that tells whether the page is hidden, and when that changes. */
export interface IVisibility {
  readonly hidden: boolean;
  onChange(callback: () => void): IDisposable;
}

/** The browser's `document` visibility. */
export function documentVisibility(doc: Document = document): IVisibility {
  return {
    get hidden() {
      return doc.hidden;
    },
    onChange(callback: () => void): IDisposable {
      doc.addEventListener('visibilitychange', callback);
      let disposed = false;
      return {
        get isDisposed() {
          return disposed;
        },
        dispose() {
          disposed = true;
          doc.removeEventListener('visibilitychange', callback);
        }
      };
    }
  };
}

/** Timer functions (injectable for tests). */
export interface ITimers {
  setTimeout(callback: () => void, ms: number): any;
  clearTimeout(handle: any): void;
}

const defaultTimers: ITimers = {
  setTimeout: (cb, ms) => setTimeout(cb, ms),
  clearTimeout: handle => clearTimeout(handle)
};

export interface IAccountsModelOptions {
  client: Pick<IMsalClient, 'accounts' | 'status' | 'signOut' | 'signOutAll'>;
  /** Milliseconds between polls while all is well (default 5000). */
  pollInterval?: number;
  /** First delay after an error, doubled per failure (default 5000). */
  errorDelay?: number;
  /** The longest delay between polls after errors (default 60000). */
  maxDelay?: number;
  visibility?: IVisibility;
  timers?: ITimers;
}

/**
 * The delay before the next poll.
 *
 * @param failures consecutive failed polls (0 when the last one succeeded)
 */
export function nextPollDelay(
  failures: number,
  pollInterval: number,
  errorDelay: number,
  maxDelay: number
): number {
  if (failures <= 0) {
    return pollInterval;
  }
  const exp = Math.min(failures - 1, 16);
  return Math.min(maxDelay, errorDelay * Math.pow(2, exp));
}

function sameAccounts(a: readonly IAccount[], b: readonly IAccount[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (x, i) =>
        x.home_account_id === b[i].home_account_id &&
        x.username === b[i].username
    )
  );
}

/**
 * The accounts signed in on the server, and the sync state.
 */
export class AccountsModel implements IDisposable {
  constructor(options: IAccountsModelOptions) {
    this._client = options.client;
    this.pollInterval = options.pollInterval ?? 5000;
    this.errorDelay = options.errorDelay ?? 5000;
    this.maxDelay = options.maxDelay ?? 60000;
    this._timers = options.timers ?? defaultTimers;
    this._visibility = options.visibility ?? null;
    if (this._visibility) {
      this._visibilityListener = this._visibility.onChange(() =>
        this._onVisibilityChange()
      );
    }
  }

  /** Milliseconds between polls while all is well. */
  pollInterval: number;
  errorDelay: number;
  maxDelay: number;

  /** Emitted whenever accounts, status or sync state change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get accounts(): readonly IAccount[] {
    return this._accounts;
  }

  /** The server's account revision last seen (null before the first answer). */
  get revision(): number | null {
    return this._revision;
  }

  get state(): SyncState {
    return this._state;
  }

  /** The last `GET status` answer (null until loaded). */
  get status(): IStatus | null {
    return this._status;
  }

  /** The error of the last failed poll (null after a success). */
  get lastError(): MsalApiError | null {
    return this._lastError;
  }

  /** Consecutive failed polls. */
  get failures(): number {
    return this._failures;
  }

  /** Whether polling is running (started and the page is visible). */
  get isPolling(): boolean {
    return this._started && !this._paused;
  }

  /** The delay the next poll is scheduled with (for display and tests). */
  get scheduledDelay(): number | null {
    return this._timer === null ? null : this._scheduledDelay;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Start polling (polls at once). */
  start(): void {
    if (this._started || this._isDisposed) {
      return;
    }
    this._started = true;
    this._paused = !!this._visibility?.hidden;
    if (!this._paused) {
      void this.refresh();
    }
  }

  /** Stop polling. */
  stop(): void {
    this._started = false;
    this._clearTimer();
  }

  /**
   * Poll now (also reschedules the next poll). Concurrent calls share one
   * request.
   */
  refresh(): Promise<void> {
    if (this._isDisposed) {
      return Promise.resolve();
    }
    if (!this._inflight) {
      this._clearTimer();
      this._inflight = this._poll().finally(() => {
        this._inflight = null;
        this._schedule();
      });
    }
    return this._inflight;
  }

  /** Load `GET status` (configuration, broker, cache) and the accounts in it. */
  async loadStatus(): Promise<IStatus | null> {
    try {
      const status = await this._client.status();
      if (this._isDisposed) {
        return status;
      }
      this._status = status;
      this._succeeded(status);
      this._changed.emit();
      return status;
    } catch (error) {
      this._failed(error);
      this._changed.emit();
      return null;
    }
  }

  /** Sign out of one account (home_account_id or username). */
  async signOut(account: string): Promise<IAccount[]> {
    const answer = await this._client.signOut(account);
    this.apply(answer);
    return answer.removed ?? [];
  }

  /** Sign out of every account. */
  async signOutAll(): Promise<IAccount[]> {
    const answer = await this._client.signOutAll();
    this.apply(answer);
    return answer.removed ?? [];
  }

  /**
   * Take an accounts answer from anywhere (poll, sign-out, finished sign-in).
   * Returns whether anything changed.
   */
  apply(answer: IAccountsResponse): boolean {
    const changed = this._succeeded(answer);
    if (changed) {
      this._changed.emit();
    }
    return changed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.stop();
    this._visibilityListener?.dispose();
    Signal.clearData(this);
  }

  private async _poll(): Promise<void> {
    try {
      const answer = await this._client.accounts();
      if (!this._isDisposed) {
        this.apply(answer);
      }
    } catch (error) {
      if (!this._isDisposed) {
        this._failed(error);
        this._changed.emit();
      }
    }
  }

  /** Record a successful answer; returns whether the model changed. */
  private _succeeded(answer: IAccountsResponse): boolean {
    const accounts = Array.isArray(answer.accounts) ? answer.accounts : [];
    let changed = this._state !== 'ok';
    if (
      answer.revision !== this._revision ||
      !sameAccounts(accounts, this._accounts)
    ) {
      changed = true;
      this._accounts = accounts;
      this._revision = answer.revision;
    }
    if (this._status && changed) {
      this._status = { ...this._status, accounts, revision: answer.revision };
    }
    this._state = 'ok';
    this._failures = 0;
    this._lastError = null;
    return changed;
  }

  private _failed(error: unknown): void {
    const apiError =
      error instanceof MsalApiError
        ? error
        : new MsalApiError(0, { message: String(error) });
    this._failures += 1;
    this._lastError = apiError;
    this._state = apiError.status === 404 ? 'unavailable' : 'error';
  }

  private _schedule(): void {
    this._clearTimer();
    if (!this._started || this._paused || this._isDisposed) {
      return;
    }
    const delay =
      this._state === 'unavailable'
        ? this.maxDelay
        : nextPollDelay(
            this._failures,
            this.pollInterval,
            this.errorDelay,
            this.maxDelay
          );
    this._scheduledDelay = delay;
    this._timer = this._timers.setTimeout(() => {
      this._timer = null;
      void this.refresh();
    }, delay);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      this._timers.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _onVisibilityChange(): void {
    if (!this._visibility || !this._started) {
      return;
    }
    if (this._visibility.hidden) {
      this._paused = true;
      this._clearTimer();
    } else if (this._paused) {
      this._paused = false;
      void this.refresh();
    }
  }

  private _client: IAccountsModelOptions['client'];
  private _timers: ITimers;
  private _visibility: IVisibility | null;
  private _visibilityListener: IDisposable | null = null;
  private _changed = new Signal<this, void>(this);
  private _accounts: readonly IAccount[] = [];
  private _revision: number | null = null;
  private _status: IStatus | null = null;
  private _state: SyncState = 'loading';
  private _lastError: MsalApiError | null = null;
  private _failures = 0;
  private _started = false;
  private _paused = false;
  private _timer: any = null;
  private _scheduledDelay = 0;
  private _inflight: Promise<void> | null = null;
  private _isDisposed = false;
}

/**
 * The front end's copy of the server's account state, kept in sync by
 * `GET jupyter-msal/accounts` (its `revision` tells what changed): at once
 * when the server's event stream announces a sign-in or a sign-out
 * (`announce`, model/serverEvents.ts), and by polling, slowly while the
 * stream is listened to, at the normal pace when it is not.
 *
 * Pure logic: no DOM widgets. Polling is a Lumino `Poll`: it backs off after
 * errors and stands by while the page is hidden.
 */
import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IAccount,
  IAccountsResponse,
  IMsalClient,
  INACTIVE,
  IStatus,
  MsalApiError
} from '../api';
import type { IReadonlyAccountsModel } from '../tokens';

/**
 * - `loading`: nothing known yet
 * - `ok`: the last answer was a success
 * - `error`: the last poll failed (server unreachable, 403, 5xx); retrying with backoff
 * - `unavailable`: the server extension does not answer (404), or answers that
 *   it is not active on this server (503 `inactive`: `lastError` says why);
 *   retrying slowly
 */
export type SyncState = 'loading' | 'ok' | 'error' | 'unavailable';

/** Options of an `AccountsModel`. */
export interface IAccountsModelOptions {
  /** The REST client (or a test double). */
  client: Pick<IMsalClient, 'accounts' | 'status' | 'signOut' | 'signOutAll'>;
  /** Milliseconds between polls while all is well (default 5000). */
  pollInterval?: number;
  /**
   * The longest pause in milliseconds between polls after errors, and the
   * pause while the server extension does not answer (default 60000).
   */
  maxInterval?: number;
}

/**
 * How much slower the poll goes while the server's event stream tells of
 * sign-ins and sign-outs (5 s becomes a minute): it only catches what the
 * stream missed.
 */
export const LISTENING_SLOWDOWN = 12;

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
export class AccountsModel implements IDisposable, IReadonlyAccountsModel {
  constructor(options: IAccountsModelOptions) {
    this._client = options.client;
    this._pollInterval = options.pollInterval ?? 5000;
    this._maxInterval = options.maxInterval ?? 60000;
    this._poll = new Poll({
      auto: false,
      factory: state => this._fetch(state.phase === 'refreshed'),
      frequency: this._frequency(),
      // no poll at all while hidden, not even one more
      linger: 0,
      name: 'jupyter-msal:accounts',
      standby: 'when-hidden'
    });
    this._onVisibilityChange = this._onVisibilityChange.bind(this);
    document.addEventListener('visibilitychange', this._onVisibilityChange);
  }

  /** Milliseconds between polls while all is well. */
  get pollInterval(): number {
    return this._pollInterval;
  }
  set pollInterval(value: number) {
    this._pollInterval = value;
    this._updateFrequency();
  }

  /**
   * Whether the server's event stream is listened to: the poll then only
   * catches what the stream missed, at a much slower pace. It turns false
   * by itself when a scheduled poll finds a change no event announced.
   */
  get listening(): boolean {
    return this._listening;
  }
  set listening(value: boolean) {
    this._listening = value;
    this._updateFrequency();
  }

  /**
   * The server announced a change of accounts (an event of its stream):
   * ask for the accounts now. Resolves once the answer is applied.
   */
  announce(): Promise<void> {
    this._announced = true;
    if (!this._listening) {
      this.listening = true;
    }
    return this.started ? this.refresh() : Promise.resolve();
  }

  /** Whether the model polls (between `start` and `stop`). */
  get started(): boolean {
    return this._started;
  }

  /** Emitted whenever accounts, status or sync state change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The accounts signed in on the server, as last seen. */
  get accounts(): readonly IAccount[] {
    return this._accounts;
  }

  /** The server's account revision last seen (null before the first answer). */
  get revision(): number | null {
    return this._revision;
  }

  /** Whether the last answer was a success, and if not, why. */
  get state(): SyncState {
    return this._state;
  }

  /** The last `GET status` answer (null until loaded). */
  get status(): IStatus | null {
    return this._status;
  }

  /** The error of the last failed request (null after a success). */
  get lastError(): MsalApiError | null {
    return this._lastError;
  }

  /** Whether the model is disposed. */
  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Start polling (at once, unless the page is hidden). */
  start(): void {
    if (this.isDisposed) {
      return;
    }
    this._started = true;
    void this._poll.start();
  }

  /** Stop polling. */
  stop(): void {
    this._started = false;
    void this._poll.stop();
  }

  /**
   * Poll now; resolves once the answer is applied. Concurrent calls share one
   * request.
   */
  async refresh(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    await this._poll.refresh();
    await this._poll.tick.catch(() => undefined);
  }

  /** Load `GET status` (configuration, broker, cache) and the accounts in it. */
  async loadStatus(): Promise<IStatus | null> {
    try {
      const status = await this._client.status();
      if (this.isDisposed) {
        return status;
      }
      this._status = status;
      this._succeeded(status);
      this._changed.emit();
      return status;
    } catch (error) {
      if (!this.isDisposed) {
        this._failed(error);
        this._changed.emit();
      }
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

  /** Stop polling for good. */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    document.removeEventListener('visibilitychange', this._onVisibilityChange);
    // stopping clears the scheduled tick; disposing alone would leave it
    void this._poll.stop();
    this._poll.dispose();
    Signal.clearData(this);
  }

  /**
   * One poll. A failure rejects, and the `Poll` backs off; a missing server
   * extension is no passing fault: it resolves, and the poll goes on at the
   * slowest pace.
   */
  private async _fetch(refreshed: boolean): Promise<void> {
    const announced = this._announced;
    this._announced = false;
    let answer: IAccountsResponse;
    try {
      answer = await this._client.accounts();
    } catch (error) {
      if (this.isDisposed) {
        return;
      }
      this._failed(error);
      this._changed.emit();
      if (this._state === 'unavailable') {
        return;
      }
      throw error;
    }
    if (this.isDisposed) {
      return;
    }
    const before = this._revision;
    this.apply(answer);
    const missed = before !== null && before !== this._revision;
    if (missed && this._listening && !refreshed && !announced) {
      // a scheduled poll found what no event announced: the stream is not
      // delivering (a proxy without websockets, events not authorized)
      this.listening = false;
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
    this._lastError = null;
    this._updateFrequency();
    return changed;
  }

  private _failed(error: unknown): void {
    const apiError =
      error instanceof MsalApiError
        ? error
        : new MsalApiError(0, { message: String(error) });
    this._lastError = apiError;
    this._state =
      apiError.status === 404 || apiError.code === INACTIVE
        ? 'unavailable'
        : 'error';
    this._updateFrequency();
  }

  /**
   * The poll's pace: the interval while the server answers, the slowest pace
   * while the server extension is missing (backing off cannot go slower).
   */
  private _frequency(): IPoll.Frequency {
    const interval = this._listening
      ? this._pollInterval * LISTENING_SLOWDOWN
      : this._pollInterval;
    const max = Math.max(this._maxInterval, interval);
    return {
      backoff: true,
      interval: this._state === 'unavailable' ? max : interval,
      max
    };
  }

  private _updateFrequency(): void {
    if (!this.isDisposed) {
      this._poll.frequency = this._frequency();
    }
  }

  /** Poll at once when the page comes back into view. */
  private _onVisibilityChange(): void {
    if (this._started && document.visibilityState === 'visible') {
      void this._poll.refresh();
    }
  }

  private _client: IAccountsModelOptions['client'];
  private _pollInterval: number;
  private _maxInterval: number;
  private _poll: Poll<void, unknown, 'standby'>;
  private _started = false;
  private _listening = false;
  private _announced = false;
  private _changed = new Signal<this, void>(this);
  private _accounts: readonly IAccount[] = [];
  private _revision: number | null = null;
  private _status: IStatus | null = null;
  private _state: SyncState = 'loading';
  private _lastError: MsalApiError | null = null;
}

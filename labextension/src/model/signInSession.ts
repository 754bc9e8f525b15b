/**
 * One sign-in, from `POST sign-ins` to its outcome: the state machine behind
 * the sign-in dialog. Pure logic (no DOM), timers injectable for tests.
 *
 *   idle ─start()─▶ starting ─202─▶ pending ─┬─▶ succeeded
 *                      │                     ├─▶ failed | expired   (server says so)
 *                      │                     ├─▶ cancelled          (cancel())
 *                      └─────────────────────┴─▶ error              (server unreachable, 4xx)
 */
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { PromiseDelegate } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IApiErrorBody,
  IFlow,
  IMsalClient,
  MsalApiError,
  isAbortError
} from '../api';
import { translationBundle } from '../util/i18n';
import { SignInMethod } from '../util/methods';

/** Timer functions (injectable for tests). */
export interface ITimers {
  setTimeout(callback: () => void, ms: number): any;
  clearTimeout(handle: any): void;
}

const defaultTimers: ITimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: handle => clearTimeout(handle)
};

/** Where a sign-in is in its life (see the module's drawing). */
export type SessionPhase =
  | 'idle'
  | 'starting'
  | 'pending'
  | 'succeeded'
  | 'failed'
  | 'expired'
  | 'cancelled'
  | 'error';

/** Phases after which nothing more happens. */
export const FINAL_PHASES: ReadonlyArray<SessionPhase> = [
  'succeeded',
  'failed',
  'expired',
  'cancelled',
  'error'
];

/** Options of a `SignInSession`. */
export interface ISignInSessionOptions {
  /** The REST client (or a test double). */
  client: Pick<
    IMsalClient,
    'startSignIn' | 'getSignIn' | 'cancelSignIn' | 'completeSignIn'
  >;
  /** The sign-in method to ask for (default `auto`). */
  method?: SignInMethod;
  /** Scopes to consent to (default: the server's default scopes). */
  scopes?: string[];
  /** Seconds the server may hold each poll (`?wait=`, default 10). */
  wait?: number;
  /** First retry delay in ms after a failed poll (default 1000, doubled up to 10000). */
  retryDelay?: number;
  /** Current time in seconds since the epoch (injectable for tests). */
  now?: () => number;
  /** Timers (injectable for tests). */
  timers?: ITimers;
  /** Translates the messages the session writes itself. */
  translator?: ITranslator | null;
}

/**
 * A sign-in flow followed until it ends.
 */
export class SignInSession {
  constructor(options: ISignInSessionOptions) {
    this._client = options.client;
    this.method = options.method ?? 'auto';
    this.scopes = options.scopes ?? [];
    this._wait = options.wait ?? 10;
    this._retryDelay = options.retryDelay ?? 1000;
    this._now = options.now ?? (() => Date.now() / 1000);
    this._timers = options.timers ?? defaultTimers;
    this._trans = translationBundle(options.translator);
  }

  /** The sign-in method asked for. */
  readonly method: SignInMethod;
  /** The scopes asked for (empty: the server's default scopes). */
  readonly scopes: string[];

  /** Emitted on every change of phase or flow. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Where the sign-in is now. */
  get phase(): SessionPhase {
    return this._phase;
  }

  /** The latest flow the server answered (null before `POST sign-ins` answered). */
  get flow(): IFlow | null {
    return this._flow;
  }

  /** Why the sign-in did not succeed (flow error or API error), if it did not. */
  get error(): IApiErrorBody | null {
    return this._error;
  }

  /** Whether the sign-in has ended (one of `FINAL_PHASES`). */
  get isDone(): boolean {
    return FINAL_PHASES.includes(this._phase);
  }

  /** Resolves with the final phase. */
  get done(): Promise<SessionPhase> {
    return this._done.promise;
  }

  /** Seconds until the code expires (null when unknown). */
  secondsLeft(now: number = this._now()): number | null {
    const expires = this._flow?.expires_on;
    if (typeof expires !== 'number') {
      return null;
    }
    return Math.max(0, expires - now);
  }

  /** Ask the server for a sign-in, then follow it until it ends. */
  async start(): Promise<SessionPhase> {
    if (this._phase !== 'idle') {
      return this.done;
    }
    this._setPhase('starting');
    try {
      const flow = await this._client.startSignIn({
        method: this.method,
        scopes: this.scopes.length ? this.scopes : undefined
      });
      if (this.isDone) {
        // cancelled while the request was in flight
        if (flow && flow.id && flow.state === 'pending') {
          this._client.cancelSignIn(flow.id).catch(() => undefined);
        }
        return this.done;
      }
      this._update(flow);
    } catch (error) {
      this._fail(error);
      return this.done;
    }
    void this._follow();
    return this.done;
  }

  /** Cancel the sign-in (DELETE on the server when it is pending there). */
  async cancel(): Promise<void> {
    if (this.isDone) {
      return;
    }
    const flow = this._flow;
    this._abort?.abort();
    this._clearTimer();
    this._error = {
      error: 'cancelled',
      message: this._trans.__('The sign-in was cancelled.')
    };
    this._setPhase('cancelled');
    if (flow && flow.state === 'pending') {
      try {
        const answer = await this._client.cancelSignIn(flow.id);
        if (answer && answer.id === flow.id) {
          this._flow = answer;
          this._changed.emit();
        }
      } catch {
        // The server forgets pending flows when they expire anyway.
      }
    }
  }

  /**
   * Finish a sign-in in the browser with the address the browser ended on
   * (its redirect could not reach the server). Resolves with what went
   * wrong, in words, or null when the server took the address.
   */
  async complete(url: string): Promise<string | null> {
    const flow = this._flow;
    if (!flow || this.isDone) {
      return null;
    }
    try {
      const answer = await this._client.completeSignIn(flow.id, url.trim());
      if (!this.isDone && answer && answer.id === flow.id) {
        this._update(answer);
      }
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** Stop following without telling the server (e.g. the page is going away). */
  dispose(): void {
    this._abort?.abort();
    this._clearTimer();
    if (!this.isDone) {
      this._phase = 'cancelled';
      this._done.resolve('cancelled');
    }
    Signal.clearData(this);
  }

  private async _follow(): Promise<void> {
    let failures = 0;
    while (!this.isDone && this._flow) {
      const abort = new AbortController();
      this._abort = abort;
      const started = this._now();
      try {
        const flow = await this._client.getSignIn(this._flow.id, {
          wait: this._wait,
          since: this._flow.step,
          signal: abort.signal
        });
        if (this.isDone) {
          return;
        }
        failures = 0;
        this._update(flow);
        // Never poll faster than once per `retryDelay`, even when the server
        // answers a pending flow at once (no long-polling).
        const elapsed = (this._now() - started) * 1000;
        if (
          !this.isDone &&
          elapsed < this._retryDelay &&
          !(await this._sleep(this._retryDelay - elapsed))
        ) {
          return;
        }
      } catch (error) {
        if (this.isDone || isAbortError(error)) {
          return;
        }
        const apiError = error instanceof MsalApiError ? error : null;
        const transient =
          apiError !== null &&
          (apiError.status === 0 || apiError.status >= 500);
        const left = this.secondsLeft();
        if (!transient || (left !== null && left <= 0)) {
          if (apiError?.status === 404) {
            this._fail(
              new MsalApiError(404, {
                error: 'not_found',
                message: this._trans.__(
                  'The server no longer knows this sign-in (was it restarted?). Start again.'
                )
              })
            );
          } else {
            this._fail(error);
          }
          return;
        }
        failures += 1;
        const delay = Math.min(
          10000,
          this._retryDelay * Math.pow(2, failures - 1)
        );
        if (!(await this._sleep(delay))) {
          return;
        }
      }
    }
  }

  /** Wait; resolves false when the session ended meanwhile. */
  private _sleep(ms: number): Promise<boolean> {
    return new Promise(resolve => {
      this._sleepResolve = resolve;
      this._timer = this._timers.setTimeout(() => {
        this._timer = null;
        this._sleepResolve = null;
        resolve(!this.isDone);
      }, ms);
    });
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      this._timers.clearTimeout(this._timer);
      this._timer = null;
    }
    if (this._sleepResolve) {
      const resolve = this._sleepResolve;
      this._sleepResolve = null;
      resolve(false);
    }
  }

  private _update(flow: IFlow): void {
    this._flow = flow;
    switch (flow.state) {
      case 'pending':
        this._setPhase('pending');
        break;
      case 'succeeded':
        this._error = null;
        this._setPhase('succeeded');
        break;
      case 'expired':
        this._error = flow.error ?? {
          error: 'expired_token',
          message: this._trans.__('The code expired.')
        };
        this._setPhase('expired');
        break;
      case 'cancelled':
        this._error = flow.error ?? {
          error: 'cancelled',
          message: this._trans.__('The sign-in was cancelled.')
        };
        this._setPhase('cancelled');
        break;
      case 'failed':
      default:
        this._error = flow.error ?? {
          error: 'failed',
          message: this._trans.__('The sign-in failed.')
        };
        this._setPhase('failed');
        break;
    }
  }

  private _fail(error: unknown): void {
    if (this.isDone) {
      return;
    }
    this._error =
      error instanceof MsalApiError
        ? error.toBody()
        : {
            error: 'error',
            message: String((error as Error)?.message ?? error)
          };
    this._setPhase('error');
  }

  private _setPhase(phase: SessionPhase): void {
    const changedPhase = phase !== this._phase;
    this._phase = phase;
    this._changed.emit();
    if (changedPhase && FINAL_PHASES.includes(phase)) {
      this._done.resolve(phase);
    }
  }

  private _client: ISignInSessionOptions['client'];
  private _wait: number;
  private _retryDelay: number;
  private _now: () => number;
  private _timers: ITimers;
  private _trans: TranslationBundle;
  private _phase: SessionPhase = 'idle';
  private _flow: IFlow | null = null;
  private _error: IApiErrorBody | null = null;
  private _abort: AbortController | null = null;
  private _timer: any = null;
  private _sleepResolve: ((value: boolean) => void) | null = null;
  private _changed = new Signal<this, void>(this);
  private _done = new PromiseDelegate<SessionPhase>();
}

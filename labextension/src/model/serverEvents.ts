/**
 * The server's events, as JupyterLab 4 streams them from the server's
 * `/api/events/subscribe` websocket (`app.serviceManager.events.stream`):
 * jupyter-msal's sign-in and sign-out events make the accounts model ask
 * for the accounts at once, so a sign-in in another tab or from a kernel
 * shows within about a second.
 *
 * The events carry usernames and ids, never a token (jupyter_msal/audit.py);
 * only their schema and action are read here.
 */
import type { Event } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';

import { AccountsModel } from './accounts';

/** The namespace of jupyter-msal's event schema ids (jupyter_msal/audit.py). */
export const EVENT_NAMESPACE = 'urn:jupyter-msal:events:';

/** The schema of sign-in events. */
export const SIGN_IN_EVENT = `${EVENT_NAMESPACE}sign_in:v1`;

/** The schema of sign-out events (one per account removed). */
export const SIGN_OUT_EVENT = `${EVENT_NAMESPACE}sign_out:v1`;

/** Whether an event of the server changes the signed-in accounts. */
export function changesAccounts(event: Event.Emission): boolean {
  if (event.schema_id === SIGN_OUT_EVENT) {
    return true;
  }
  return event.schema_id === SIGN_IN_EVENT && event['action'] === 'succeeded';
}

/**
 * Feeds the server's events to an accounts model while it lives. Without an
 * event manager (a server without events) the model polls at its normal pace.
 */
export class ServerEvents implements IDisposable {
  constructor(model: AccountsModel, events: Event.IManager | null | undefined) {
    this._model = model;
    this._stream = events?.stream ?? null;
    if (this._stream) {
      this._stream.connect(this._onEvent, this);
      model.listening = true;
    }
  }

  /** Whether it stopped listening. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Stop listening; the model goes back to its normal pace. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._stream) {
      this._stream.disconnect(this._onEvent, this);
      this._model.listening = false;
    }
  }

  private _onEvent(_: unknown, event: Event.Emission): void {
    if (changesAccounts(event)) {
      void this._model.announce();
    }
  }

  private _model: AccountsModel;
  private _stream: Event.Stream | null;
  private _isDisposed = false;
}

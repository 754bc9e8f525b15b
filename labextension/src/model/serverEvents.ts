/**
 * The server's events, as JupyterLab 4 streams them from the server's
 * `/api/events/subscribe` websocket (`app.serviceManager.events.stream`):
 * jupyter-msal's sign-in and sign-out events make the accounts model ask
 * for the accounts at once, so a sign-in in another tab or from a kernel
 * shows within about a second. A `token_wanted` event (a kernel, a terminal
 * or a tool in one asked for a token while nobody is signed in) is handed on
 * through the `tokenWanted` signal, for the notification that offers the
 * sign-in (actions/tokenWanted.ts).
 *
 * The events carry usernames and ids, never a token (jupyter_msal/audit.py);
 * only their schema and action are read here.
 */
import type { Event } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { AccountsModel } from './accounts';

/** The namespace of jupyter-msal's event schema ids (jupyter_msal/audit.py). */
export const EVENT_NAMESPACE = 'urn:jupyter-msal:events:';

/** The schema of sign-in events. */
export const SIGN_IN_EVENT = `${EVENT_NAMESPACE}sign_in:v1`;

/** The schema of sign-out events (one per account removed). */
export const SIGN_OUT_EVENT = `${EVENT_NAMESPACE}sign_out:v1`;

/** The schema of the events saying a token was wanted while signed out. */
export const TOKEN_WANTED_EVENT = `${EVENT_NAMESPACE}token_wanted:v1`;

/**
 * A token was asked for while nobody was signed in (the fields of
 * jupyter_msal/event_schemas/token_wanted.yaml).
 */
export interface ITokenWanted {
  /** The resource asked for, e.g. `https://storage.azure.com`. */
  resource: string;
  /** Its name when it is a known Azure resource, e.g. `Azure Storage`. */
  resource_name?: string;
  /** Who asked: `azure_cli`, `azcopy`, `azure_identity`, `kernel`, ... */
  tool: string;
  /** `managed_identity` (IDENTITY_ENDPOINT) or `rest` (POST token). */
  via: string;
}

/** The token-wanted fields of an event, or null when it is not one. */
export function tokenWanted(event: Event.Emission): ITokenWanted | null {
  const { resource, resource_name, tool, via } = event;
  if (
    event.schema_id !== TOKEN_WANTED_EVENT ||
    typeof resource !== 'string' ||
    !resource
  ) {
    return null;
  }
  return {
    resource,
    ...(typeof resource_name === 'string' && resource_name
      ? { resource_name }
      : {}),
    tool: typeof tool === 'string' ? tool : 'other',
    via: typeof via === 'string' ? via : ''
  };
}

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

  /** A kernel, terminal or tool asked for a token while nobody was signed in. */
  get tokenWanted(): ISignal<this, ITokenWanted> {
    return this._tokenWanted;
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
    Signal.clearData(this);
    if (this._stream) {
      this._stream.disconnect(this._onEvent, this);
      this._model.listening = false;
    }
  }

  private _onEvent(_: unknown, event: Event.Emission): void {
    if (changesAccounts(event)) {
      void this._model.announce();
      return;
    }
    const wanted = tokenWanted(event);
    if (wanted) {
      this._tokenWanted.emit(wanted);
    }
  }

  private _model: AccountsModel;
  private _stream: Event.Stream | null;
  private _isDisposed = false;
  private _tokenWanted = new Signal<this, ITokenWanted>(this);
}

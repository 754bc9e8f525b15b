/**
 * A typed client for the jupyter-msal REST API (see docs/rest-api.md).
 *
 * The browser only manages sign-ins and accounts. It never asks for an
 * access token: `POST jupyter-msal/token` is deliberately not reachable
 * through this client.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import {
  IAccountsResponse,
  IApiErrorBody,
  IFlow,
  ISignOutResponse,
  IStatus
} from './apiTypes';
import { translationBundle } from './util/i18n';
import { SignInMethod } from './util/methods';

export * from './apiTypes';

/** The URL namespace of the server extension, below the server's base URL. */
export const API_NAMESPACE = 'jupyter-msal';

/**
 * The `error` code of the 503 every request gets when jupyter-msal could not
 * start on the server (an invalid setting, a file it cannot read); its
 * message is "jupyter-msal is not active on this server: <reason>".
 */
export const INACTIVE = 'inactive';

/**
 * An error answered by the REST API, or a failure to reach it.
 *
 * `status` is the HTTP status, or 0 when the server could not be reached.
 */
export class MsalApiError extends Error {
  /**
   * @param status the HTTP status, 0 when the server was not reached
   * @param body the error body; `message` is what people read
   */
  constructor(
    status: number,
    body: Partial<IApiErrorBody> & Pick<IApiErrorBody, 'message'>
  ) {
    super(body.message);
    this.name = 'MsalApiError';
    this.status = status;
    this.code = body.error || (status === 0 ? 'network_error' : 'http_error');
    this.hint = body.hint || null;
    this.aadsts = body.aadsts || null;
    this.setting = body.setting || null;
  }

  /** The HTTP status, 0 when the request did not reach the server. */
  readonly status: number;
  /** The `error` code of the REST API (`network_error` when unreachable). */
  readonly code: string;
  /** What to do about it, when the server knows. */
  readonly hint: string | null;
  /** The Entra ID error code (`AADSTS…`), when there is one. */
  readonly aadsts: string | null;
  /** The server setting at fault, when there is one. */
  readonly setting: string | null;

  /** The error as a REST API error body. */
  toBody(): IApiErrorBody {
    return {
      error: this.code,
      message: this.message,
      hint: this.hint,
      aadsts: this.aadsts,
      setting: this.setting
    };
  }
}

/** Whether an error is the result of aborting a request. */
export function isAbortError(error: unknown): boolean {
  return (
    !!error &&
    typeof error === 'object' &&
    (error as { name?: string }).name === 'AbortError'
  );
}

/**
 * The subset of the API the front end uses (handy for test doubles).
 */
export interface IMsalClient {
  status(): Promise<IStatus>;
  accounts(): Promise<IAccountsResponse>;
  signOut(account: string): Promise<ISignOutResponse>;
  signOutAll(): Promise<ISignOutResponse>;
  startSignIn(options?: {
    method?: SignInMethod;
    scopes?: string[];
  }): Promise<IFlow>;
  getSignIn(
    id: string,
    options?: { wait?: number; since?: number; signal?: AbortSignal }
  ): Promise<IFlow>;
  listSignIns(): Promise<IFlow[]>;
  cancelSignIn(id: string): Promise<IFlow>;
  completeSignIn(id: string, url: string): Promise<IFlow>;
}

/**
 * The REST client. Requests go through `ServerConnection.makeRequest`, which
 * adds the Jupyter credentials (cookie, XSRF header or token) itself.
 */
export class MsalClient implements IMsalClient {
  constructor(options: MsalClient.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._trans = translationBundle(options.translator);
  }

  /** The connection settings of the Jupyter server. */
  readonly serverSettings: ServerConnection.ISettings;

  /** The absolute URL of an endpoint below `jupyter-msal/`. */
  url(path: string): string {
    return URLExt.join(this.serverSettings.baseUrl, API_NAMESPACE, path);
  }

  /** `GET status`: configuration, cache, broker and accounts. */
  status(): Promise<IStatus> {
    return this.request<IStatus>('GET', 'status');
  }

  /** `GET accounts`: the signed-in accounts and their revision. */
  accounts(): Promise<IAccountsResponse> {
    return this.request<IAccountsResponse>('GET', 'accounts');
  }

  /** Sign out of one account (home_account_id or username). */
  signOut(account: string): Promise<ISignOutResponse> {
    return this.request<ISignOutResponse>(
      'DELETE',
      `accounts/${encodeURIComponent(account)}`
    );
  }

  /** Sign out of every account. */
  signOutAll(): Promise<ISignOutResponse> {
    return this.request<ISignOutResponse>('DELETE', 'accounts');
  }

  /** Ask the server for a sign-in (`POST sign-ins`). */
  startSignIn(
    options: { method?: SignInMethod; scopes?: string[] } = {}
  ): Promise<IFlow> {
    const body: { method?: SignInMethod; scopes?: string[] } = {};
    if (options.method) {
      body.method = options.method;
    }
    if (options.scopes && options.scopes.length) {
      body.scopes = options.scopes;
    }
    return this.request<IFlow>('POST', 'sign-ins', body);
  }

  /**
   * Read a sign-in flow. With `wait` (seconds, 0-30) the server answers as
   * soon as the flow leaves `pending` or takes a new step, or after that many
   * seconds; `since` is the step the page has seen (answered at once when the
   * flow has moved past it).
   */
  getSignIn(
    id: string,
    options: { wait?: number; since?: number; signal?: AbortSignal } = {}
  ): Promise<IFlow> {
    let path = `sign-ins/${encodeURIComponent(id)}`;
    if (options.wait !== undefined && options.wait > 0) {
      const wait = Math.min(30, Math.max(0, Math.round(options.wait)));
      const query: { wait: number; since?: number } = { wait };
      if (options.since !== undefined) {
        query.since = options.since;
      }
      path += URLExt.objectToQueryString(query);
    }
    return this.request<IFlow>('GET', path, undefined, options.signal);
  }

  /** The sign-ins the server follows now. */
  async listSignIns(): Promise<IFlow[]> {
    const data = await this.request<{ sign_ins: IFlow[] }>('GET', 'sign-ins');
    return data.sign_ins ?? [];
  }

  /** Cancel a pending sign-in. */
  cancelSignIn(id: string): Promise<IFlow> {
    return this.request<IFlow>('DELETE', `sign-ins/${encodeURIComponent(id)}`);
  }

  /**
   * Finish a sign-in in the browser with the address the browser ended on
   * (when its redirect could not reach the server).
   */
  completeSignIn(id: string, url: string): Promise<IFlow> {
    return this.request<IFlow>(
      'POST',
      `sign-ins/${encodeURIComponent(id)}/response`,
      { url }
    );
  }

  /**
   * Send one request and decode the JSON answer; failures become
   * `MsalApiError`s (status 0 when the server was not reached).
   */
  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    signal?: AbortSignal
  ): Promise<T> {
    if (/^\/?token(\/|\?|$)/.test(path)) {
      // The page must never hold an access token.
      throw new Error('The browser does not request access tokens.');
    }
    // 'no-cache' (revalidate) rather than JupyterLab's default 'no-store',
    // which appends a cache-busting `?<timestamp>` to every URL.
    const init: RequestInit = { method, cache: 'no-cache' };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    if (signal) {
      init.signal = signal;
    }
    const response = await this._send(path, init, signal);
    return this._decode<T>(response);
  }

  /** Send a request; a failure to reach the server is a `network_error`. */
  private async _send(
    path: string,
    init: RequestInit,
    signal?: AbortSignal
  ): Promise<Response> {
    try {
      return await ServerConnection.makeRequest(
        this.url(path),
        init,
        this.serverSettings
      );
    } catch (error) {
      if (isAbortError(error) || (signal && signal.aborted)) {
        // makeRequest wraps every fetch failure in a NetworkError
        const aborted = new Error('The request was aborted.');
        aborted.name = 'AbortError';
        throw aborted;
      }
      throw new MsalApiError(0, {
        error: 'network_error',
        message: this._trans.__(
          'The Jupyter server could not be reached (%1).',
          String((error as Error)?.message ?? error)
        )
      });
    }
  }

  /** The JSON of an answer, or the `MsalApiError` it stands for. */
  private async _decode<T>(response: Response): Promise<T> {
    const text = await response.text();
    let data: any = null;
    if (text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      throw this._errorOf(response.status, data);
    }
    if (data === null) {
      throw new MsalApiError(response.status, {
        error: 'bad_response',
        message: this._trans.__(
          'The server answered with something that is not JSON.'
        )
      });
    }
    return data as T;
  }

  /** The error an answer with HTTP `status` and JSON `data` stands for. */
  private _errorOf(status: number, data: any): MsalApiError {
    const errorBody =
      data && typeof data === 'object' && typeof data.error === 'string'
        ? (data as IApiErrorBody)
        : null;
    if (!errorBody && status === 404) {
      return new MsalApiError(404, {
        error: 'not_found',
        message: this._trans.__(
          'The jupyter-msal server extension does not answer. Is it installed and enabled (`jupyter server extension list`)?'
        )
      });
    }
    return new MsalApiError(status, {
      ...errorBody,
      message:
        errorBody?.message ||
        this._trans.__('The Jupyter server answered HTTP %1.', status)
    });
  }

  private _trans: TranslationBundle;
}

/** The `MsalClient` namespace. */
export namespace MsalClient {
  /** Options of a client. */
  export interface IOptions {
    /** The Jupyter server to talk to (default: the page's own server). */
    serverSettings?: ServerConnection.ISettings;
    /** Translates the messages of the errors it raises. */
    translator?: ITranslator | null;
  }
}

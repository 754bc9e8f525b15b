/**
 * The data of the jupyter-msal REST API as the page receives it (see
 * docs/rest-api.md): accounts, sign-in flows, the status document and
 * error bodies. None of them ever holds a token.
 */

/** A signed-in account as the server describes it (no secrets). */
export interface IAccount {
  home_account_id: string;
  username: string;
  tenant_id?: string | null;
  environment?: string | null;
  authority?: string | null;
  /** How it signed in: `device_code`, `auth_code`, `broker`, `hub` (the JupyterHub login). */
  sign_in_method?: string | null;
}

/** The JSON body of every error answer of the REST API. */
export interface IApiErrorBody {
  error: string;
  message: string;
  hint?: string | null;
  aadsts?: string | null;
  setting?: string | null;
  claims?: string | null;
}

/** The lifecycle states of a sign-in flow on the server. */
export type FlowState =
  'pending' | 'succeeded' | 'failed' | 'expired' | 'cancelled';

/** A sign-in flow (`FLOW` in the REST API document). */
export interface IFlow {
  id: string;
  method: string;
  state: FlowState;
  user_code?: string | null;
  verification_uri?: string | null;
  /** The identity provider's page to open in a new tab (sign-in in the browser). */
  sign_in_url?: string | null;
  message?: string | null;
  expires_on?: number | null;
  created_on?: number | null;
  scopes?: string[];
  account?: IAccount | null;
  error?: IApiErrorBody | null;
  fallback_reason?: string | null;
  /** Grows at every new step (another method took over) and when the flow ends. */
  step?: number;
}

/** `GET jupyter-msal/accounts` */
export interface IAccountsResponse {
  accounts: IAccount[];
  revision: number;
}

/** `DELETE jupyter-msal/accounts[/{account}]` */
export interface ISignOutResponse extends IAccountsResponse {
  removed: IAccount[];
}

/** `GET jupyter-msal/status` */
export interface IStatus {
  version?: string;
  mode?: string;
  config?: { [key: string]: unknown };
  cache?: {
    path?: string | null;
    encrypted?: boolean;
    encryption?: string | null;
    warnings?: string[];
  };
  broker?: { available: boolean; reason?: string | null };
  region?: {
    configured?: string | null;
    applies?: boolean;
    note?: string | null;
  };
  sign_in_methods?: string[];
  /** The JupyterHub service's link (on a hub where the admin enabled it). */
  hub?: {
    url?: string | null;
    account?: string | null;
    in_use?: boolean;
    note?: string | null;
  };
  accounts: IAccount[];
  revision: number;
  warnings?: string[];
}

/**
 * Pure functions that turn API data into words for people. Each takes the
 * translation bundle last (default: the strings as written).
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IAccount, IApiErrorBody, IStatus } from './api';
import { translationBundle } from './util/i18n';
import { SyncState } from './model/accounts';

/** What went wrong, in words: a short title and a sentence saying what to do. */
export interface IProblem {
  /** A stable machine-readable kind (used as a CSS/data attribute). */
  kind:
    | 'declined'
    | 'expired'
    | 'policy'
    | 'unreachable'
    | 'cancelled'
    | 'broker'
    | 'server'
    | 'other';
  /** What happened, in a few words. */
  title: string;
  /** What it means and what to do, in a sentence or two. */
  detail: string;
}

/** The kind of problem an error is, by the server's `error` code. */
const KIND_BY_CODE: { readonly [code: string]: IProblem['kind'] } = {
  sign_in_cancelled: 'cancelled',
  // the page's own code for a sign-in it cancelled (model/signInSession.ts)
  cancelled: 'cancelled',
  sign_in_declined: 'declined',
  sign_in_expired: 'expired',
  sign_in_timed_out: 'expired',
  identity_provider_unreachable: 'unreachable',
  // the page's own code for a request that did not reach the server (api.ts)
  network_error: 'server',
  broker_unavailable: 'broker'
};

/** The kind of problem a flow state says, when the error does not. */
const KIND_BY_STATE: { readonly [state: string]: IProblem['kind'] } = {
  cancelled: 'cancelled',
  expired: 'expired'
};

/** The Conditional Access block, by the server's structured `aadsts` field. */
const POLICY_AADSTS = '53003';

/** The AADSTS number of the error's `aadsts` field (never read from its message). */
function aadstsOf(error: Partial<IApiErrorBody> | null | undefined): string {
  return error?.aadsts ? String(error.aadsts).replace(/^aadsts/i, '') : '';
}

/**
 * The kind of problem: from the structured fields the server sends (the
 * `error` code, the `aadsts` number) and the flow state, never from the words
 * of a message, so that rewording a message never changes how it is treated.
 */
export function problemKind(
  error: Partial<IApiErrorBody> | null | undefined,
  state?: string
): IProblem['kind'] {
  if (aadstsOf(error) === POLICY_AADSTS) {
    return 'policy';
  }
  if (state === 'cancelled') {
    return 'cancelled';
  }
  return (
    KIND_BY_CODE[error?.error ?? ''] ?? KIND_BY_STATE[state ?? ''] ?? 'other'
  );
}

type Explain = (
  error: Partial<IApiErrorBody> | null | undefined,
  trans: TranslationBundle
) => Omit<IProblem, 'kind'>;

/** A space and the server's hint, or nothing. */
function hintOf(error: Partial<IApiErrorBody> | null | undefined): string {
  return error?.hint ? ` ${error.hint}` : '';
}

/** The title and the sentence for each kind of problem. */
const EXPLAIN: { readonly [kind in IProblem['kind']]: Explain } = {
  policy: (error, trans) => ({
    title: trans.__('Blocked by your organization’s policy'),
    detail: trans.__(
      'A Conditional Access policy (AADSTS53003) does not allow this sign-in from here. %1',
      error?.hint ||
        trans.__('Try another sign-in method, or ask your administrator.')
    )
  }),
  cancelled: (_, trans) => ({
    title: trans.__('Sign-in cancelled'),
    detail: trans.__('The sign-in was cancelled before it finished.')
  }),
  declined: (error, trans) => ({
    title: trans.__('Sign-in declined'),
    detail: trans.__(
      'The sign-in was declined at the Microsoft sign-in page. Start again if that was a mistake.%1',
      hintOf(error)
    )
  }),
  expired: (_, trans) => ({
    title: trans.__('The code expired'),
    detail: trans.__(
      'Nobody entered the code before it expired. Start again to get a new code.'
    )
  }),
  unreachable: (error, trans) => ({
    title: trans.__('The identity provider is unreachable'),
    detail: trans.__(
      'The Jupyter server could not reach the Microsoft sign-in service (timeout or refused connection). Check the network or proxy of the machine running Jupyter, then try again.%1',
      hintOf(error)
    )
  }),
  server: (_, trans) => ({
    title: trans.__('The Jupyter server is unreachable'),
    detail: trans.__(
      'This page lost its connection to the Jupyter server. Check that the server still runs.'
    )
  }),
  broker: (error, trans) => ({
    title: trans.__('The sign-in broker is not available'),
    detail: trans
      .__('%1 Use the device code instead.', error?.message ?? '')
      .trim()
  }),
  other: (error, trans) => {
    const message = error?.message || trans.__('The sign-in did not succeed.');
    const code = aadstsOf(error);
    const aadsts = code && !message.includes(code) ? ` (AADSTS${code})` : '';
    return {
      title: trans.__('Sign-in failed'),
      detail: `${message}${aadsts}${hintOf(error)}`
    };
  }
};

/**
 * Explain why a sign-in did not succeed.
 *
 * @param error the flow's `error` or an API error body
 * @param state the flow state, when known
 * @param trans the translation bundle
 */
export function describeProblem(
  error: Partial<IApiErrorBody> | null | undefined,
  state?: string,
  trans: TranslationBundle = translationBundle()
): IProblem {
  const kind = problemKind(error, state);
  return { kind, ...EXPLAIN[kind](error, trans) };
}

/** The text of the always-visible indicator. */
export function indicatorLabel(
  state: SyncState,
  accounts: readonly IAccount[],
  trans: TranslationBundle = translationBundle()
): string {
  if (accounts.length === 0) {
    switch (state) {
      case 'loading':
        return trans.__('Microsoft');
      case 'unavailable':
        return trans.__('Microsoft sign-in unavailable');
      case 'error':
        return trans.__('Microsoft: not connected');
      default:
        return trans.__('Sign in to Microsoft');
    }
  }
  const first = accounts[0].username || accounts[0].home_account_id;
  return accounts.length > 1 ? `${first} +${accounts.length - 1}` : first;
}

/** A list of accounts for a sentence: their usernames, comma-separated. */
export function accountNames(accounts: readonly IAccount[]): string {
  return accounts.map(a => a.username || a.home_account_id).join(', ');
}

/** `mm:ss` (or `h:mm:ss`) for a number of seconds; never negative. */
export function formatCountdown(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** One line of the effective configuration shown for support questions. */
export interface IConfigLine {
  /** What the line is about. */
  label: string;
  /** Its value, in words. */
  value: string;
  /** Whether the line deserves attention (e.g. an unencrypted cache). */
  warning?: boolean;
}

function str(value: unknown, trans: TranslationBundle): string {
  if (value === null || value === undefined || value === '') {
    return trans.__('(not set)');
  }
  if (Array.isArray(value)) {
    return value.length ? value.join(', ') : trans.__('(none)');
  }
  return String(value);
}

/** Where tokens come from: authority, client id, OIDC authority, mode. */
function identityLines(
  status: IStatus,
  trans: TranslationBundle
): IConfigLine[] {
  const config = status.config ?? {};
  const lines: IConfigLine[] = [
    { label: trans.__('Authority'), value: str(config['authority'], trans) },
    { label: trans.__('Client ID'), value: str(config['client_id'], trans) }
  ];
  if (config['oidc_authority']) {
    lines.push({
      label: trans.__('OIDC authority'),
      value: str(config['oidc_authority'], trans)
    });
  }
  if (status.mode && status.mode !== 'user') {
    lines.push({ label: trans.__('Mode'), value: status.mode });
  }
  return lines;
}

/** The token cache: encrypted or not, and where. */
function cacheLines(status: IStatus, trans: TranslationBundle): IConfigLine[] {
  const cache = status.cache;
  if (!cache) {
    return [];
  }
  const how = cache.encrypted
    ? trans.__('encrypted (%1)', cache.encryption ?? trans.__('yes'))
    : trans.__('NOT encrypted');
  return [
    {
      label: trans.__('Token cache'),
      value: cache.path ? `${how}, ${cache.path}` : how,
      warning: !cache.encrypted
    }
  ];
}

/** The sign-in methods, and whether the broker is available (and why not). */
function methodLines(status: IStatus, trans: TranslationBundle): IConfigLine[] {
  const lines: IConfigLine[] = [];
  if (status.sign_in_methods) {
    lines.push({
      label: trans.__('Sign-in methods'),
      value: str(status.sign_in_methods, trans)
    });
  }
  if (status.broker) {
    const reason = status.broker.reason;
    lines.push({
      label: trans.__('Broker'),
      value: status.broker.available
        ? trans.__('available')
        : reason
          ? trans.__('not available (%1)', reason)
          : trans.__('not available')
    });
  }
  return lines;
}

/** The default and allowed scopes, and the server extension's version. */
function scopeLines(status: IStatus, trans: TranslationBundle): IConfigLine[] {
  const config = status.config ?? {};
  const lines: IConfigLine[] = [];
  if (config['default_scopes'] !== undefined) {
    lines.push({
      label: trans.__('Default scopes'),
      value: str(config['default_scopes'], trans)
    });
  }
  const allowed = config['allowed_scopes'];
  if (Array.isArray(allowed) && allowed.length) {
    lines.push({
      label: trans.__('Allowed scopes'),
      value: str(allowed, trans)
    });
  }
  if (status.version) {
    lines.push({
      label: trans.__('Server extension'),
      value: `jupyter-msal ${status.version}`
    });
  }
  return lines;
}

/**
 * The effective non-secret configuration, as lines for people.
 * Only allow-listed, non-secret fields are shown.
 */
export function configLines(
  status: IStatus | null,
  trans: TranslationBundle = translationBundle()
): IConfigLine[] {
  if (!status) {
    return [];
  }
  return [
    ...identityLines(status, trans),
    ...cacheLines(status, trans),
    ...methodLines(status, trans),
    ...scopeLines(status, trans)
  ];
}

/** All warnings the server reports (general and cache), without duplicates. */
export function statusWarnings(status: IStatus | null): string[] {
  if (!status) {
    return [];
  }
  const all = [...(status.warnings ?? []), ...(status.cache?.warnings ?? [])];
  return all.filter((w, i) => w && all.indexOf(w) === i);
}

/** The configuration as plain text (for the "copy details" button). */
export function configText(
  status: IStatus | null,
  trans: TranslationBundle = translationBundle()
): string {
  const lines = configLines(status, trans).map(l => `${l.label}: ${l.value}`);
  for (const w of statusWarnings(status)) {
    lines.push(trans.__('Warning: %1', w));
  }
  return lines.join('\n');
}

/**
 * Pure functions that turn API data into words for people.
 */
import { IAccount, IApiErrorBody, IStatus } from './api';

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
  title: string;
  detail: string;
}

function text(error: Partial<IApiErrorBody> | null | undefined): string {
  if (!error) {
    return '';
  }
  return `${error.error ?? ''} ${error.message ?? ''} ${error.hint ?? ''}`.toLowerCase();
}

function aadsts(error: Partial<IApiErrorBody> | null | undefined): string {
  if (!error) {
    return '';
  }
  if (error.aadsts) {
    return String(error.aadsts).replace(/^aadsts/i, '');
  }
  const match = /aadsts(\d+)/i.exec(
    `${error.message ?? ''} ${error.hint ?? ''}`
  );
  return match ? match[1] : '';
}

/**
 * Explain why a sign-in did not succeed.
 *
 * @param error the flow's `error` or an API error body
 * @param state the flow state, when known
 */
export function describeProblem(
  error: Partial<IApiErrorBody> | null | undefined,
  state?: string
): IProblem {
  const code = aadsts(error);
  const words = text(error);
  const hint = error?.hint ? ` ${error.hint}` : '';
  if (code === '53003' || words.includes('conditional access')) {
    return {
      kind: 'policy',
      title: 'Blocked by your organization’s policy',
      detail:
        'A Conditional Access policy (AADSTS53003) does not allow this sign-in from here. ' +
        (error?.hint ||
          'Try another sign-in method, or ask your administrator.')
    };
  }
  if (
    state === 'cancelled' ||
    error?.error === 'cancelled' ||
    error?.error === 'sign_in_cancelled'
  ) {
    return {
      kind: 'cancelled',
      title: 'Sign-in cancelled',
      detail: 'The sign-in was cancelled before it finished.'
    };
  }
  if (
    words.includes('declined') ||
    words.includes('access_denied') ||
    code === '70000' ||
    code === '65004' ||
    code === '50126'
  ) {
    return {
      kind: 'declined',
      title: 'Sign-in declined',
      detail:
        'The sign-in was declined at the Microsoft sign-in page. Start again if that was a mistake.' +
        hint
    };
  }
  if (
    state === 'expired' ||
    code === '70020' ||
    words.includes('expired_token') ||
    (error?.error ?? '').includes('expired')
  ) {
    return {
      kind: 'expired',
      title: 'The code expired',
      detail:
        'Nobody entered the code before it expired. Start again to get a new code.'
    };
  }
  if (error?.error === 'identity_provider_unreachable') {
    return {
      kind: 'unreachable',
      title: 'The identity provider is unreachable',
      detail:
        'The Jupyter server could not reach the Microsoft sign-in service (timeout or refused connection). ' +
        'Check the network or proxy of the machine running Jupyter, then try again.' +
        hint
    };
  }
  if (error?.error === 'network_error') {
    return {
      kind: 'server',
      title: 'The Jupyter server is unreachable',
      detail:
        'This page lost its connection to the Jupyter server. Check that the server still runs.'
    };
  }
  if (error?.error === 'broker_unavailable') {
    return {
      kind: 'broker',
      title: 'The sign-in broker is not available',
      detail: `${error.message ?? ''} Use the device code instead.`.trim()
    };
  }
  const message = error?.message || 'The sign-in did not succeed.';
  return {
    kind: 'other',
    title: 'Sign-in failed',
    detail: `${message}${code && !message.includes(code) ? ` (AADSTS${code})` : ''}${hint}`
  };
}

/** The text of the always-visible indicator. */
export function indicatorLabel(
  state: 'loading' | 'ok' | 'error' | 'unavailable',
  accounts: readonly IAccount[]
): string {
  if (accounts.length === 0) {
    switch (state) {
      case 'loading':
        return 'Microsoft';
      case 'unavailable':
        return 'Microsoft sign-in unavailable';
      case 'error':
        return 'Microsoft: not connected';
      default:
        return 'Sign in to Microsoft';
    }
  }
  const first = accounts[0].username || accounts[0].home_account_id;
  return accounts.length > 1 ? `${first} +${accounts.length - 1}` : first;
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
  label: string;
  value: string;
  /** Whether the line deserves attention (e.g. an unencrypted cache). */
  warning?: boolean;
}

function str(value: unknown): string {
  if (value === null || value === undefined || value === '') {
    return '(not set)';
  }
  if (Array.isArray(value)) {
    return value.length ? value.join(', ') : '(none)';
  }
  return String(value);
}

/**
 * The effective non-secret configuration, as lines for people.
 * Only allow-listed, non-secret fields are shown.
 */
export function configLines(status: IStatus | null): IConfigLine[] {
  if (!status) {
    return [];
  }
  const config = status.config ?? {};
  const lines: IConfigLine[] = [
    { label: 'Authority', value: str(config['authority']) },
    { label: 'Client ID', value: str(config['client_id']) }
  ];
  if (config['oidc_authority']) {
    lines.push({
      label: 'OIDC authority',
      value: str(config['oidc_authority'])
    });
  }
  if (status.mode && status.mode !== 'user') {
    lines.push({ label: 'Mode', value: status.mode });
  }
  const cache = status.cache;
  if (cache) {
    const how = cache.encrypted
      ? `encrypted (${cache.encryption ?? 'yes'})`
      : 'NOT encrypted';
    lines.push({
      label: 'Token cache',
      value: cache.path ? `${how}, ${cache.path}` : how,
      warning: !cache.encrypted
    });
  }
  if (status.sign_in_methods) {
    lines.push({
      label: 'Sign-in methods',
      value: str(status.sign_in_methods)
    });
  }
  if (status.broker) {
    lines.push({
      label: 'Broker',
      value: status.broker.available
        ? 'available'
        : `not available${status.broker.reason ? ` (${status.broker.reason})` : ''}`
    });
  }
  if (config['default_scopes'] !== undefined) {
    lines.push({
      label: 'Default scopes',
      value: str(config['default_scopes'])
    });
  }
  if (
    Array.isArray(config['allowed_scopes']) &&
    (config['allowed_scopes'] as unknown[]).length
  ) {
    lines.push({
      label: 'Allowed scopes',
      value: str(config['allowed_scopes'])
    });
  }
  if (status.version) {
    lines.push({
      label: 'Server extension',
      value: `jupyter-msal ${status.version}`
    });
  }
  return lines;
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
export function configText(status: IStatus | null): string {
  const lines = configLines(status).map(l => `${l.label}: ${l.value}`);
  for (const w of statusWarnings(status)) {
    lines.push(`Warning: ${w}`);
  }
  return lines.join('\n');
}

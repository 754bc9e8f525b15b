/**
 * Pure functions that turn API data into words for people. Each takes the
 * translation bundle last (default: the strings as written).
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IAccount, IApiErrorBody, IStatus } from './api';
import { translationBundle } from './i18n';
import { SyncState } from './model';

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
 * @param trans the translation bundle
 */
export function describeProblem(
  error: Partial<IApiErrorBody> | null | undefined,
  state?: string,
  trans: TranslationBundle = translationBundle()
): IProblem {
  const code = aadsts(error);
  const words = text(error);
  const hint = error?.hint ? ` ${error.hint}` : '';
  if (code === '53003' || words.includes('conditional access')) {
    return {
      kind: 'policy',
      title: trans.__('Blocked by your organization’s policy'),
      detail: trans.__(
        'A Conditional Access policy (AADSTS53003) does not allow this sign-in from here. %1',
        error?.hint ||
          trans.__('Try another sign-in method, or ask your administrator.')
      )
    };
  }
  if (
    state === 'cancelled' ||
    error?.error === 'cancelled' ||
    error?.error === 'sign_in_cancelled'
  ) {
    return {
      kind: 'cancelled',
      title: trans.__('Sign-in cancelled'),
      detail: trans.__('The sign-in was cancelled before it finished.')
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
      title: trans.__('Sign-in declined'),
      detail: trans.__(
        'The sign-in was declined at the Microsoft sign-in page. Start again if that was a mistake.%1',
        hint
      )
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
      title: trans.__('The code expired'),
      detail: trans.__(
        'Nobody entered the code before it expired. Start again to get a new code.'
      )
    };
  }
  if (error?.error === 'identity_provider_unreachable') {
    return {
      kind: 'unreachable',
      title: trans.__('The identity provider is unreachable'),
      detail: trans.__(
        'The Jupyter server could not reach the Microsoft sign-in service (timeout or refused connection). Check the network or proxy of the machine running Jupyter, then try again.%1',
        hint
      )
    };
  }
  if (error?.error === 'network_error') {
    return {
      kind: 'server',
      title: trans.__('The Jupyter server is unreachable'),
      detail: trans.__(
        'This page lost its connection to the Jupyter server. Check that the server still runs.'
      )
    };
  }
  if (error?.error === 'broker_unavailable') {
    return {
      kind: 'broker',
      title: trans.__('The sign-in broker is not available'),
      detail: trans
        .__('%1 Use the device code instead.', error.message ?? '')
        .trim()
    };
  }
  const message = error?.message || trans.__('The sign-in did not succeed.');
  return {
    kind: 'other',
    title: trans.__('Sign-in failed'),
    detail: `${message}${code && !message.includes(code) ? ` (AADSTS${code})` : ''}${hint}`
  };
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
  const cache = status.cache;
  if (cache) {
    const how = cache.encrypted
      ? trans.__('encrypted (%1)', cache.encryption ?? trans.__('yes'))
      : trans.__('NOT encrypted');
    lines.push({
      label: trans.__('Token cache'),
      value: cache.path ? `${how}, ${cache.path}` : how,
      warning: !cache.encrypted
    });
  }
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
  if (config['default_scopes'] !== undefined) {
    lines.push({
      label: trans.__('Default scopes'),
      value: str(config['default_scopes'], trans)
    });
  }
  if (
    Array.isArray(config['allowed_scopes']) &&
    (config['allowed_scopes'] as unknown[]).length
  ) {
    lines.push({
      label: trans.__('Allowed scopes'),
      value: str(config['allowed_scopes'], trans)
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

/**
 * The sign-in methods a page may ask the server for: the one list the
 * commands, the settings and the REST client share.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

/** Every sign-in method the front end knows, in the order it offers them. */
export const SIGN_IN_METHODS = [
  'auto',
  'device_code',
  'auth_code',
  'broker'
] as const;

/** A sign-in method: `auto` lets the server choose. */
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

/** Whether a value (a command argument, say) names a known sign-in method. */
export function isSignInMethod(value: unknown): value is SignInMethod {
  return (SIGN_IN_METHODS as readonly unknown[]).includes(value);
}

/**
 * How people call each sign-in method (for captions), `auto` aside: it is
 * the server's choice among the others. A method added to `SIGN_IN_METHODS`
 * does not compile until it has its words here.
 */
export function methodWords(trans: TranslationBundle): {
  readonly [method in Exclude<SignInMethod, 'auto'>]: string;
} {
  return {
    device_code: trans.__('a device code'),
    auth_code: trans.__('the browser'),
    broker: trans.__('the broker')
  };
}

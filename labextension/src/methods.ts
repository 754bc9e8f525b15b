/**
 * The sign-in methods a page may ask the server for: the one list the
 * commands, the settings and the REST client share.
 */

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

import { isSignInMethod, SIGN_IN_METHODS } from '../util/methods';

describe('sign-in methods', () => {
  it('lists the methods a page may ask for', () => {
    expect(SIGN_IN_METHODS).toEqual([
      'auto',
      'device_code',
      'auth_code',
      'broker'
    ]);
  });

  it('recognises them, and nothing else', () => {
    for (const method of SIGN_IN_METHODS) {
      expect(isSignInMethod(method)).toBe(true);
    }
    for (const other of ['ask', 'magic', '', undefined, null, 3]) {
      expect(isSignInMethod(other)).toBe(false);
    }
  });
});

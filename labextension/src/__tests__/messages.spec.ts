import {
  configLines,
  configText,
  describeProblem,
  formatCountdown,
  indicatorLabel,
  statusWarnings
} from '../messages';
import { ADA, BOB, status } from './helpers';

describe('describeProblem', () => {
  it('explains a Conditional Access block by the aadsts field (AADSTS53003)', () => {
    const p = describeProblem({
      error: 'identity_provider_error',
      message:
        'AADSTS53003: Access has been blocked by Conditional Access policies.',
      aadsts: '53003'
    });
    expect(p.kind).toBe('policy');
    expect(p.detail).toMatch(/AADSTS53003/);
  });

  it('never reads the kind from the words of a message', () => {
    const kind = (message: string) =>
      describeProblem({ error: 'identity_provider_error', message }).kind;
    expect(kind('AADSTS53003: blocked by conditional access')).toBe('other');
    expect(kind('The user declined (access_denied)')).toBe('other');
    expect(kind('expired_token')).toBe('other');
  });

  it("knows the server's own sign-in error codes", () => {
    const kind = (error: string) =>
      describeProblem({ error, message: 'x' }).kind;
    expect(kind('sign_in_declined')).toBe('declined');
    expect(kind('sign_in_expired')).toBe('expired');
    expect(kind('sign_in_timed_out')).toBe('expired');
    expect(kind('sign_in_cancelled')).toBe('cancelled');
  });

  // Every code the UI treats specially, and one it does not know.
  const SPECIAL: { [code: string]: string } = {
    sign_in_declined: 'declined',
    sign_in_expired: 'expired',
    sign_in_timed_out: 'expired',
    sign_in_cancelled: 'cancelled',
    cancelled: 'cancelled',
    identity_provider_unreachable: 'unreachable',
    network_error: 'server',
    broker_unavailable: 'broker',
    a_code_from_a_newer_server: 'other'
  };

  /** The treatment of an error: everything but the message it displays. */
  function treatment(code: string, message: string, aadsts?: string) {
    const p = describeProblem({ error: code, message, hint: 'H.', aadsts });
    return { ...p, detail: p.detail.split(message).join('<message>') };
  }

  it.each(Object.entries(SPECIAL))(
    'treats %s the same whatever its message says',
    (code, kind) => {
      const a = treatment(code, 'The sign-in was declined.');
      const b = treatment(code, 'Reworded: conditional access, expired_token.');
      expect(a.kind).toBe(kind);
      expect(b).toEqual(a);
    }
  );

  it('treats a policy block the same whatever its message says', () => {
    const a = treatment('identity_provider_error', 'Blocked.', '53003');
    const b = treatment('identity_provider_error', 'Nope, declined.', '53003');
    expect(a.kind).toBe('policy');
    expect(b).toEqual(a);
  });

  it('gives an unknown code the generic treatment', () => {
    const p = describeProblem({ error: 'brand_new_code', message: 'Odd.' });
    expect(p.kind).toBe('other');
    expect(p.title).toBe('Sign-in failed');
    expect(p.detail).toBe('Odd.');
  });

  it('uses the server hint for a policy block instead of the generic advice', () => {
    const p = describeProblem({
      error: 'sign_in_failed',
      message: 'blocked',
      aadsts: 'AADSTS53003',
      hint: 'Use the broker.'
    });
    expect(p.kind).toBe('policy');
    expect(p.detail).toMatch(/from here\. Use the broker\.$/);
  });

  it('explains an expired code', () => {
    expect(describeProblem(null, 'expired').kind).toBe('expired');
    expect(
      describeProblem({ error: 'sign_in_expired', message: 'x' }, 'failed').kind
    ).toBe('expired');
  });

  it('explains an unreachable identity provider', () => {
    const p = describeProblem({
      error: 'identity_provider_unreachable',
      message: 'timed out',
      hint: 'Check the proxy.'
    });
    expect(p.kind).toBe('unreachable');
    expect(p.title).toMatch(/unreachable/);
    expect(p.detail).toMatch(/Check the proxy\./);
  });

  it('explains an unreachable Jupyter server and a missing broker', () => {
    expect(describeProblem({ error: 'network_error', message: 'x' }).kind).toBe(
      'server'
    );
    const broker = describeProblem({
      error: 'broker_unavailable',
      message: 'No broker.'
    });
    expect(broker.kind).toBe('broker');
    expect(broker.detail).toMatch(/No broker\. Use the device code/);
  });

  it('falls back to the server message with the AADSTS code', () => {
    const p = describeProblem({
      error: 'identity_provider_error',
      message: 'Bad thing',
      aadsts: '7000215'
    });
    expect(p.kind).toBe('other');
    expect(p.detail).toBe('Bad thing (AADSTS7000215)');
    expect(describeProblem(null).detail).toMatch(/did not succeed/);
  });

  it('reports a cancellation', () => {
    expect(describeProblem(null, 'cancelled').kind).toBe('cancelled');
  });
});

describe('indicatorLabel', () => {
  it('asks to sign in, or names the user (+N)', () => {
    expect(indicatorLabel('ok', [])).toBe('Sign in to Microsoft');
    expect(indicatorLabel('ok', [ADA])).toBe('ada@contoso.com');
    expect(indicatorLabel('ok', [ADA, BOB])).toBe('ada@contoso.com +1');
    expect(indicatorLabel('error', [ADA])).toBe('ada@contoso.com');
  });

  it('says when state is unknown', () => {
    expect(indicatorLabel('loading', [])).toBe('Microsoft');
    expect(indicatorLabel('unavailable', [])).toMatch(/unavailable/);
    expect(indicatorLabel('error', [])).toMatch(/not connected/);
  });
});

describe('formatCountdown', () => {
  it('formats minutes and seconds', () => {
    expect(formatCountdown(900)).toBe('15:00');
    expect(formatCountdown(61.7)).toBe('1:01');
    expect(formatCountdown(5)).toBe('0:05');
    expect(formatCountdown(3725)).toBe('1:02:05');
    expect(formatCountdown(-3)).toBe('0:00');
  });
});

describe('configLines', () => {
  it('shows authority, client id and cache encryption', () => {
    const lines = configLines(
      status({
        cache: {
          path: '/c.bin',
          encrypted: false,
          encryption: 'none',
          warnings: ['plaintext!']
        }
      })
    );
    const byLabel: { [label: string]: (typeof lines)[0] } = {};
    lines.forEach(l => (byLabel[l.label] = l));
    expect(byLabel['Authority'].value).toMatch(/organizations/);
    expect(byLabel['Client ID'].value).toBe(
      '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
    );
    expect(byLabel['Token cache'].value).toMatch(/NOT encrypted/);
    expect(byLabel['Token cache'].warning).toBe(true);
    expect(byLabel['Broker'].value).toMatch(/not available \(pymsalruntime/);
  });

  it('shows an encrypted cache without a warning', () => {
    const lines = configLines(
      status({
        cache: {
          path: '/c.bin',
          encrypted: true,
          encryption: 'key',
          warnings: []
        }
      })
    );
    const cache = lines.find(l => l.label === 'Token cache')!;
    expect(cache.value).toMatch(/^encrypted \(key\)/);
    expect(cache.warning).toBe(false);
  });

  it('never shows secrets, even if a server sent one', () => {
    const s = status();
    s.config = { ...s.config, client_secret: 'SECRET', cache_key: 'KEY' };
    expect(configText(s)).not.toMatch(/SECRET|KEY:/);
  });

  it('collects warnings without duplicates', () => {
    const s = status({ warnings: ['a', 'b'] });
    s.cache!.warnings = ['b', 'c'];
    expect(statusWarnings(s)).toEqual(['a', 'b', 'c']);
    expect(configText(s)).toMatch(/Warning: c/);
    expect(configLines(null)).toEqual([]);
  });
});

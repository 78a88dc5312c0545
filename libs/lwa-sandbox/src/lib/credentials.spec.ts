import {
  constantTimeEqual,
  createPkcePair,
  fingerprint,
  isValidCodeVerifier,
  newAccessToken,
  newAuthorizationCode,
  newRefreshToken,
  s256CodeChallenge,
} from './credentials';

describe(s256CodeChallenge.name, () => {
  it('matches the RFC 7636 appendix B example', () => {
    expect(
      s256CodeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
    ).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('pairs with createPkcePair', () => {
    const { codeVerifier, codeChallenge } = createPkcePair();

    expect(isValidCodeVerifier(codeVerifier)).toBe(true);
    expect(s256CodeChallenge(codeVerifier)).toBe(codeChallenge);
  });
});

describe('token formats', () => {
  it('uses Amazon prefixes and long random bodies', () => {
    const access = newAccessToken();
    const refreshToken = newRefreshToken();

    expect(access).toMatch(/^Atza\|IwEB[A-Za-z0-9_-]{128}$/);
    expect(refreshToken).toMatch(/^Atzr\|IwEB[A-Za-z0-9_-]{128}$/);
    expect(newAccessToken()).not.toBe(access);
    expect(newAuthorizationCode()).toMatch(/^AN[A-Za-z0-9]{20}$/);
  });
});

describe(fingerprint.name, () => {
  it('shows only the known prefix and a hash', () => {
    const token = newRefreshToken();

    const sut = fingerprint(token);

    expect(sut).toMatch(/^Atzr\|…[0-9a-f]{10}$/);
    expect(fingerprint(token)).toBe(sut);
    expect(fingerprint('AN123456')).toMatch(/^AN…/);
    expect(fingerprint('sandbox-client-secret')).toMatch(/^…[0-9a-f]{10}$/);
  });
});

describe(constantTimeEqual.name, () => {
  it('compares strings of any length', () => {
    expect(constantTimeEqual('secret', 'secret')).toBe(true);
    expect(constantTimeEqual('secret', 'secreT')).toBe(false);
    expect(constantTimeEqual('secret', 'secret-but-longer')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

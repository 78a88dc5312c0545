import {
  createHash,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';

/** Prefix of every access token Login with Amazon issues. */
export const ACCESS_TOKEN_PREFIX = 'Atza|';
/** Prefix of every refresh token Login with Amazon issues. */
export const REFRESH_TOKEN_PREFIX = 'Atzr|';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

// Real LWA tokens start with "IwEB" after the prefix and run to several hundred characters;
// 96 random bytes keep them long and unguessable without bloating the in-memory maps.
// `marker` (the `secretMarker` option, letters and digits) follows the fixed start, so leak
// tests can look for it in logs and bodies even where a token was cut or re-encoded.
function longToken(prefix: string, marker: string): string {
  return `${prefix}IwEB${marker}${randomBytes(96).toString('base64url')}`;
}

export function newAccessToken(marker = ''): string {
  return longToken(ACCESS_TOKEN_PREFIX, marker);
}

export function newRefreshToken(marker = ''): string {
  return longToken(REFRESH_TOKEN_PREFIX, marker);
}

/** Authorization codes look like Amazon's: "AN" and 20 letters or digits (about 119 random bits). */
export function newAuthorizationCode(marker = ''): string {
  let code = `AN${marker}`;
  for (let i = 0; i < 20; i++) code += BASE62[randomInt(BASE62.length)];
  return code;
}

export function newOpaqueId(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * A short, stable stand-in for a secret in logs: a few leading characters and the start of
 * its SHA-256, so a test can tell two tokens apart without the log ever holding one.
 */
export function fingerprint(secret: string): string {
  const hash = createHash('sha256').update(secret).digest('hex').slice(0, 10);
  // Only the well-known prefix is shown; every other character of a secret is random.
  const prefix =
    [ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, 'AN'].find((known) =>
      secret.startsWith(known),
    ) ?? '';
  return `${prefix}…${hash}`;
}

/** Compares two strings in time that depends on neither's content nor length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const digestA = createHash('sha256').update(a).digest();
  const digestB = createHash('sha256').update(b).digest();
  return timingSafeEqual(digestA, digestB);
}

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256CodeChallenge(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

/** RFC 7636: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
export function isValidCodeVerifier(value: string): boolean {
  return /^[A-Za-z0-9\-._~]{43,128}$/.test(value);
}

/** An S256 challenge is the 43-character base64url encoding of a SHA-256 digest. */
export function isValidS256Challenge(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** A PKCE pair for tests and demos: a 64-character verifier and its S256 challenge. */
export function createPkcePair(): {
  codeVerifier: string;
  codeChallenge: string;
} {
  const codeVerifier = randomBytes(48).toString('base64url');
  return { codeVerifier, codeChallenge: s256CodeChallenge(codeVerifier) };
}

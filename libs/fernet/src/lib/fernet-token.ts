/*
 * The Fernet token format (https://github.com/fernet/spec/blob/master/Spec.md), shared by
 * `Fernet` and `FernetKeyring`. Internal: not exported from the library's index.
 *
 *   0x80 | timestamp (u64, big-endian) | IV (16) | AES-128-CBC ciphertext, PKCS7 | HMAC-SHA256 (32)
 *
 * Functions here return `undefined` instead of throwing on a bad token so that the key ring
 * can try every key without building one exception per key; the callers throw the single
 * `InvalidFernetToken`.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

const VERSION = 0x80;
const TIMESTAMP_OFFSET = 1;
const IV_OFFSET = 9;
const CIPHERTEXT_OFFSET = 25;
const BLOCK_LENGTH = 16;
const HMAC_LENGTH = 32;
const OVERHEAD = CIPHERTEXT_OFFSET + HMAC_LENGTH;
/** PKCS7 always adds at least one block, so the shortest token holds one. */
const MIN_TOKEN_LENGTH = OVERHEAD + BLOCK_LENGTH;

/** Python's `cryptography.fernet._MAX_CLOCK_SKEW`. */
const MAX_CLOCK_SKEW_SECONDS = 60n;

/** 43 url-safe characters carry 258 bits: the 32 bytes of a key, with or without its `=`. */
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}=?$/;
const KEY_LENGTH = 32;
const KEY_ID_BYTES = 8;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]*(={0,2})$/;

/** The two halves of a Fernet key, ready for node:crypto, and the key's public id. */
export interface FernetKeyMaterial {
  readonly signingKey: KeyObject;
  readonly encryptionKey: KeyObject;
  readonly keyId: string;
}

/** A token that is well formed; whether it is authentic is not known yet. */
export interface UnverifiedToken {
  readonly bytes: Buffer;
  readonly timestamp: bigint;
}

/**
 * Decodes a key and splits it (signing key first, encryption key last). The error never
 * includes the key: it may be a real one pasted in the wrong place.
 */
export function deriveKeyMaterial(
  key: string,
  keyName = 'Fernet key',
): FernetKeyMaterial {
  const raw = decodeKey(key, keyName);
  try {
    return {
      signingKey: createSecretKey(raw.subarray(0, KEY_LENGTH / 2)),
      encryptionKey: createSecretKey(raw.subarray(KEY_LENGTH / 2)),
      keyId: keyIdOfRawKey(raw),
    };
  } finally {
    raw.fill(0);
  }
}

export function keyIdOfEncodedKey(key: string): string {
  const raw = decodeKey(key, 'Fernet key');
  try {
    return keyIdOfRawKey(raw);
  } finally {
    raw.fill(0);
  }
}

export function generateEncodedKey(): string {
  return encodeBase64UrlPadded(randomBytes(KEY_LENGTH));
}

export function sealToken(
  key: FernetKeyMaterial,
  plaintext: Uint8Array,
  timestamp: bigint,
  iv: Uint8Array,
): string {
  const cipher = createCipheriv('aes-128-cbc', key.encryptionKey, iv);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const hmacOffset = CIPHERTEXT_OFFSET + head.length + tail.length;

  const token = Buffer.allocUnsafe(hmacOffset + HMAC_LENGTH);
  token[0] = VERSION;
  token.writeBigUInt64BE(timestamp, TIMESTAMP_OFFSET);
  token.set(iv, IV_OFFSET);
  token.set(head, CIPHERTEXT_OFFSET);
  token.set(tail, CIPHERTEXT_OFFSET + head.length);
  token.set(hmacOf(key, token.subarray(0, hmacOffset)), hmacOffset);
  return encodeBase64UrlPadded(token);
}

/**
 * Decodes a token and checks its shape only: url-safe base64 (padding optional), version,
 * and lengths. Says nothing about authenticity.
 */
export function parseToken(token: string): UnverifiedToken | undefined {
  if (typeof token !== 'string') {
    throw new TypeError('A Fernet token must be a string');
  }
  const match = TOKEN_PATTERN.exec(token);
  if (!match) {
    return undefined;
  }
  const paddingLength = match[1].length;
  const bodyLength = token.length - paddingLength;
  // A lone trailing character carries 6 bits, not a byte; padding, when present, completes
  // the last group of four exactly.
  if (bodyLength % 4 === 1 || (paddingLength > 0 && token.length % 4 !== 0)) {
    return undefined;
  }

  const bytes = Buffer.from(token, 'base64url');
  if (
    bytes.length < MIN_TOKEN_LENGTH ||
    (bytes.length - OVERHEAD) % BLOCK_LENGTH !== 0 ||
    bytes[0] !== VERSION
  ) {
    return undefined;
  }
  return { bytes, timestamp: bytes.readBigUInt64BE(TIMESTAMP_OFFSET) };
}

/**
 * Python's rule, boundaries included: expired when `timestamp + ttl < now`, too far ahead
 * when `now + 60 < timestamp`.
 */
export function isWithinTtl(
  timestamp: bigint,
  ttlSeconds: bigint,
  now: bigint,
): boolean {
  return (
    timestamp + ttlSeconds >= now && timestamp <= now + MAX_CLOCK_SKEW_SECONDS
  );
}

/** Verifies the HMAC (in constant time) before touching the ciphertext, then decrypts. */
export function openToken(
  key: FernetKeyMaterial,
  token: UnverifiedToken,
): Buffer | undefined {
  const { bytes } = token;
  const hmacOffset = bytes.length - HMAC_LENGTH;
  if (
    !timingSafeEqual(
      hmacOf(key, bytes.subarray(0, hmacOffset)),
      bytes.subarray(hmacOffset),
    )
  ) {
    return undefined;
  }

  // The ciphertext is a whole number of blocks (parseToken checked), so with padding turned
  // off `update` returns every block and `final` nothing; we strip the padding ourselves
  // instead of concatenating two buffers. A bad padding here can only come from the key's
  // holder (the HMAC matched), so checking it without constant time leaks nothing.
  const decipher = createDecipheriv(
    'aes-128-cbc',
    key.encryptionKey,
    bytes.subarray(IV_OFFSET, CIPHERTEXT_OFFSET),
  ).setAutoPadding(false);
  const padded = decipher.update(bytes.subarray(CIPHERTEXT_OFFSET, hmacOffset));
  decipher.final();
  return stripPkcs7Padding(padded);
}

function stripPkcs7Padding(padded: Buffer): Buffer | undefined {
  const paddingLength = padded[padded.length - 1];
  if (paddingLength < 1 || paddingLength > BLOCK_LENGTH) {
    return undefined;
  }
  for (let i = padded.length - paddingLength; i < padded.length - 1; i++) {
    if (padded[i] !== paddingLength) {
      return undefined;
    }
  }
  return padded.subarray(0, padded.length - paddingLength);
}

function hmacOf(key: FernetKeyMaterial, signed: Buffer): Buffer {
  return createHmac('sha256', key.signingKey).update(signed).digest();
}

function decodeKey(key: string, keyName: string): Buffer {
  if (typeof key !== 'string') {
    throw new TypeError(`${keyName} must be a string`);
  }
  if (!KEY_PATTERN.test(key)) {
    throw new Error(
      `${keyName} must be 32 bytes in url-safe base64: 43 characters from A-Z, a-z, 0-9, '-' ` +
        `and '_', optionally followed by '=' (Fernet.generateKey() makes one)`,
    );
  }
  return Buffer.from(key, 'base64url');
}

/** First 8 bytes of SHA-256 over the raw key, in hex: stable, short, and not the key. */
function keyIdOfRawKey(raw: Buffer): string {
  return createHash('sha256')
    .update(raw)
    .digest()
    .subarray(0, KEY_ID_BYTES)
    .toString('hex');
}

/** Python's `base64.urlsafe_b64encode`: url-safe alphabet, with `=` padding. */
function encodeBase64UrlPadded(bytes: Buffer): string {
  const unpadded = bytes.toString('base64url');
  switch (unpadded.length % 4) {
    case 2:
      return `${unpadded}==`;
    case 3:
      return `${unpadded}=`;
    default:
      return unpadded;
  }
}

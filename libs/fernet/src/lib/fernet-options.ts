/*
 * Options shared by `Fernet` and `FernetKeyring`, and their validation. Internal: the option
 * types are re-exported from the index, the helpers are not.
 */
import { randomFillSync } from 'node:crypto';
import { isWithinTtl, type UnverifiedToken } from './fernet-token';

const IV_LENGTH = 16;
/** IVs drawn from the CSPRNG at once: 256 of them. */
const IV_POOL_BYTES = IV_LENGTH * 256;
let ivPool = Buffer.alloc(0);
let ivPoolUsed = 0;

/**
 * 16 fresh random bytes. Taken from a pool refilled 4 KiB at a time, as Node does for
 * `randomUUID()`: a `randomBytes()` call costs 5 to 13 µs here whatever its size, more than
 * the AES and HMAC of a 400-byte token. The pool is never rewritten (a refill is a new buffer),
 * so no two tokens share an IV, and an IV is public in its token anyway.
 */
function freshIv(): Uint8Array {
  if (ivPoolUsed + IV_LENGTH > ivPool.length) {
    ivPool = randomFillSync(Buffer.allocUnsafe(IV_POOL_BYTES));
    ivPoolUsed = 0;
  }
  const iv = ivPool.subarray(ivPoolUsed, ivPoolUsed + IV_LENGTH);
  ivPoolUsed += IV_LENGTH;
  return iv;
}

/** What `encrypt` may be told; both are for tests and migrations, the defaults are right. */
export interface FernetEncryptOptions {
  /** The token's timestamp, in whole Unix seconds. Default: the current time. */
  readonly now?: number;
  /** The 16-byte AES-CBC IV. Default: 16 fresh random bytes; never reuse one. */
  readonly iv?: Buffer;
}

/** What `decrypt` may be told. Without `ttlSeconds` no time check is made (as in Python). */
export interface FernetDecryptOptions {
  /**
   * Maximum age in whole seconds. When given, a token is refused when
   * `timestamp + ttlSeconds < now` (expired) or when `now + 60 < timestamp` (from a clock
   * more than 60 seconds ahead).
   */
  readonly ttlSeconds?: number;
  /** The current time in whole Unix seconds, for the TTL check only. Default: the clock. */
  readonly now?: number;
}

export function plaintextBytes(data: Buffer | string): Uint8Array {
  if (typeof data === 'string') {
    return Buffer.from(data, 'utf8');
  }
  if (data instanceof Uint8Array) {
    return data;
  }
  throw new TypeError('Fernet can only encrypt a Buffer or a string');
}

export function tokenTimestamp(options: FernetEncryptOptions): bigint {
  return wholeSeconds(options.now ?? currentUnixSeconds(), 'now');
}

export function tokenIv(options: FernetEncryptOptions): Uint8Array {
  if (options.iv === undefined) {
    return freshIv();
  }
  if (!(options.iv instanceof Uint8Array) || options.iv.length !== IV_LENGTH) {
    throw new RangeError(`iv must be ${IV_LENGTH} bytes`);
  }
  return options.iv;
}

/** A validated TTL check, or none when no TTL was asked for. */
export interface TimeCheck {
  readonly ttlSeconds: bigint;
  readonly now: bigint;
}

/** Validates the options before any token is looked at: a bad option is a bug, not a bad token. */
export function timeCheckOf(
  options: FernetDecryptOptions,
): TimeCheck | undefined {
  if (options.ttlSeconds === undefined) {
    return undefined;
  }
  return {
    ttlSeconds: wholeSeconds(options.ttlSeconds, 'ttlSeconds'),
    now: wholeSeconds(options.now ?? currentUnixSeconds(), 'now'),
  };
}

export function passesTimeCheck(
  token: UnverifiedToken,
  check: TimeCheck | undefined,
): boolean {
  return (
    check === undefined ||
    isWithinTtl(token.timestamp, check.ttlSeconds, check.now)
  );
}

function currentUnixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function wholeSeconds(value: number, name: string): bigint {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `${name} must be a whole, non-negative number of seconds, got ${value}`,
    );
  }
  return BigInt(value);
}

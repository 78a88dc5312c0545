import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * `bytes` random bytes from the CSPRNG, base64url-encoded (32 bytes: 43 characters).
 *
 * Drawn from a pool refilled 4 KiB at a time, as Node does for `randomUUID()`: each
 * `randomBytes()` call costs about 5 µs here whatever its size, and starting an OAuth flow
 * draws three tokens (a fifth of its CPU in the profile). Bytes handed out are zeroed in the pool.
 */
export function randomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > POOL_BYTES)
    throw new RangeError(`randomToken: 1 to ${POOL_BYTES} bytes`);
  if (used + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    used = 0;
  }
  const token = pool.toString('base64url', used, used + bytes);
  pool.fill(0, used, used + bytes);
  used += bytes;
  return token;
}

import { createHash, randomBytes } from 'node:crypto';
import { SERVICE_KEY_PREFIX } from '@keeper/contracts';

/** Who presented a key: its id (named in audits as `service:<id>`) and what it may read. */
export interface ServiceKeyCaller {
  /** A stored key's uuid, or a `SERVICE_API_KEYS` key's short hash (as before keys were stored). */
  id: string;
  /** The connections it may read; `null` for every connection. */
  connectionIds: ReadonlySet<string> | null;
  source: 'env' | 'stored';
}

/** A stored key as the index needs it (an active row of `service_keys`). */
export interface StoredServiceKey {
  id: string;
  keyHash: Buffer;
  connectionIds: string[] | null;
}

/** 32 random bytes: 256 bits, far beyond any guessing. */
const KEY_BYTES = 32;

/** A new key for a job: `atk_` and 43 base64url characters. Shown once, stored as its hash. */
export function newServiceKey(): string {
  return `${SERVICE_KEY_PREFIX}${randomBytes(KEY_BYTES).toString('base64url')}`;
}

/**
 * The SHA-256 of a key, which is all that is stored. A slow password hash (scrypt, argon2) is
 * for secrets people choose: a key of 256 random bits cannot be guessed from its hash, so a
 * fast hash loses nothing and keeps verification to microseconds on every call.
 */
export function serviceKeyHash(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** `Authorization: Bearer <key>`: printable ASCII, at most 512 characters (as before). */
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * The keys this replica accepts, in memory, so a call is checked without a query: the
 * `SERVICE_API_KEYS` (every connection, fixed for the process) and the stored active keys
 * (replaced as a whole at each reload).
 *
 * Looked up in a Map keyed by the SHA-256 of the presented key rather than compared with
 * `timingSafeEqual`: whatever a lookup's timing could reveal is about the hash of the
 * attacker's own guess, and learning that a guess's hash shares a prefix with a stored hash
 * tells nothing about any key (finding a key from its hash prefix is a preimage attack). The
 * configured `SERVICE_API_KEYS`, which people may choose, are hashed the same way before the
 * lookup, so no comparison ever runs on the secrets themselves.
 */
export class ServiceKeyIndex {
  private readonly env = new Map<string, ServiceKeyCaller>();
  private stored = new Map<string, ServiceKeyCaller>();

  constructor(envKeys: readonly string[]) {
    for (const key of envKeys) {
      const hash = serviceKeyHash(key);
      this.env.set(hash.toString('hex'), {
        // The id the audit and logs have named these keys by since before keys were stored.
        id: hash.toString('hex').slice(0, 8),
        connectionIds: null,
        source: 'env',
      });
    }
  }

  /** The stored keys, as read from the table: the previous set is replaced whole. */
  replaceStored(keys: readonly StoredServiceKey[]): void {
    const next = new Map<string, ServiceKeyCaller>();
    for (const key of keys)
      next.set(key.keyHash.toString('hex'), {
        id: key.id,
        connectionIds: key.connectionIds ? new Set(key.connectionIds) : null,
        source: 'stored',
      });
    this.stored = next;
  }

  /** A key this replica just created: accepted at once, before the reload that follows. */
  addStored(key: StoredServiceKey): void {
    const next = new Map(this.stored);
    next.set(key.keyHash.toString('hex'), {
      id: key.id,
      connectionIds: key.connectionIds ? new Set(key.connectionIds) : null,
      source: 'stored',
    });
    this.stored = next;
  }

  /** A key this replica just revoked: refused at once, before the reload that follows. */
  removeStored(id: string): void {
    const next = new Map(this.stored);
    for (const [hash, caller] of next) if (caller.id === id) next.delete(hash);
    this.stored = next;
  }

  get storedCount(): number {
    return this.stored.size;
  }

  get isEmpty(): boolean {
    return this.env.size === 0 && this.stored.size === 0;
  }

  /** The caller of an `Authorization` header, or undefined (no key, a wrong or revoked one). */
  callerFor(authorization: string | undefined): ServiceKeyCaller | undefined {
    if (this.isEmpty) return undefined;
    const match = BEARER.exec(authorization ?? '');
    if (!match) return undefined;
    const hash = serviceKeyHash(match[1]).toString('hex');
    return this.stored.get(hash) ?? this.env.get(hash);
  }
}

/** Whether the caller may see the connection (its token, its Ads API calls). */
export function mayReadConnection(
  caller: ServiceKeyCaller,
  connectionId: string,
): boolean {
  return (
    caller.connectionIds === null ||
    caller.connectionIds.has(connectionId.toLowerCase())
  );
}

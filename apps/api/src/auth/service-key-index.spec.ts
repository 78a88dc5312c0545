import { createHash } from 'node:crypto';
import { Database } from '../database/database';
import {
  mayReadConnection,
  newServiceKey,
  ServiceKeyCaller,
  serviceKeyHash,
  ServiceKeyIndex,
} from './service-key-index';
import { ServiceKeyVerifier } from './service-key.verifier';

const ALPHA = '11111111-1111-4111-8111-111111111111';
const BETA = '22222222-2222-4222-8222-222222222222';
const bearer = (key: string) => `Bearer ${key}`;

/** The caller the index finds for `key`; fails the test when there is none. */
function callerOf(index: ServiceKeyIndex, key: string): ServiceKeyCaller {
  const caller = index.callerFor(bearer(key));
  if (!caller) throw new Error(`no caller for ${key.slice(0, 8)}…`);
  return caller;
}

describe('ServiceKeyIndex', () => {
  it('makes keys of 32 random bytes behind the atk_ prefix, never the same twice', () => {
    const keys = new Set(Array.from({ length: 100 }, () => newServiceKey()));
    expect(keys.size).toBe(100);
    for (const key of keys) expect(key).toMatch(/^atk_[A-Za-z0-9_-]{43}$/);
    expect(
      Buffer.from([...keys][0].slice(4), 'base64url').length,
    ).toBeGreaterThanOrEqual(32);
  });

  it('accepts SERVICE_API_KEYS for every connection, under the short ids they had', () => {
    const index = new ServiceKeyIndex([
      'env-key-one-0123456789',
      'env-key-two',
    ]);
    const caller = callerOf(index, 'env-key-two');
    expect(caller).toEqual({
      id: createHash('sha256').update('env-key-two').digest('hex').slice(0, 8),
      connectionIds: null,
      source: 'env',
    });
    expect(mayReadConnection(caller, ALPHA)).toBe(true);
    expect(index.callerFor(bearer('env-key-two '))).toBeUndefined();
    expect(index.callerFor(bearer('env-key-tw'))).toBeUndefined();
    expect(index.callerFor('env-key-two')).toBeUndefined();
    expect(index.callerFor(`Basic ${'env-key-two'}`)).toBeUndefined();
    expect(index.callerFor(bearer('x'.repeat(513)))).toBeUndefined();
    expect(index.callerFor(undefined)).toBeUndefined();
  });

  it('accepts a created key with its set, forgets a revoked one, and replaces all at a reload', () => {
    const index = new ServiceKeyIndex([]);
    const limited = newServiceKey();
    const all = newServiceKey();
    index.addStored({
      id: 'k1',
      keyHash: serviceKeyHash(limited),
      connectionIds: [ALPHA],
    });
    index.addStored({
      id: 'k2',
      keyHash: serviceKeyHash(all),
      connectionIds: null,
    });

    const caller = callerOf(index, limited);
    expect(caller.id).toBe('k1');
    expect(mayReadConnection(caller, ALPHA)).toBe(true);
    expect(mayReadConnection(caller, ALPHA.toUpperCase())).toBe(true);
    expect(mayReadConnection(caller, BETA)).toBe(false);
    expect(mayReadConnection(callerOf(index, all), BETA)).toBe(true);

    index.removeStored('k1');
    expect(index.callerFor(bearer(limited))).toBeUndefined();
    expect(index.callerFor(bearer(all))?.id).toBe('k2');

    index.replaceStored([
      { id: 'k1', keyHash: serviceKeyHash(limited), connectionIds: [BETA] },
    ]);
    expect(index.callerFor(bearer(all))).toBeUndefined();
    expect(mayReadConnection(callerOf(index, limited), BETA)).toBe(true);
    expect(index.storedCount).toBe(1);
  });

  it('never matches on the stored hash itself, nor a key with another prefix', () => {
    const key = newServiceKey();
    const index = new ServiceKeyIndex([]);
    index.addStored({
      id: 'k',
      keyHash: serviceKeyHash(key),
      connectionIds: null,
    });
    expect(
      index.callerFor(bearer(serviceKeyHash(key).toString('hex'))),
    ).toBeUndefined();
    expect(index.callerFor(bearer(`atx_${key.slice(4)}`))).toBeUndefined();
    expect(index.callerFor(bearer(key.slice(4)))).toBeUndefined();
  });
});

describe('ServiceKeyVerifier', () => {
  /** A database that answers the reload's SELECT with `rows` and records the flushes. */
  function fakeDatabase(rows: () => unknown[]) {
    const updates: unknown[][] = [];
    const database = {
      dataSource: {
        query: jest.fn(async (sql: string, params?: unknown[]) => {
          if (sql.startsWith('SELECT')) return rows();
          updates.push(params ?? []);
          return [[], (params?.[0] as unknown[]).length];
        }),
      },
    } as unknown as Database;
    return { database, updates };
  }

  it('reads the stored keys at a reload and keeps the last ones when the read fails', async () => {
    const key = newServiceKey();
    let rows: unknown[] = [
      { id: 'k1', key_hash: serviceKeyHash(key), connection_ids: null },
    ];
    let fail = false;
    const { database } = fakeDatabase(() => {
      if (fail) throw new Error('database away');
      return rows;
    });
    const verifier = new ServiceKeyVerifier(
      { keys: ['env-key'], generatedFile: undefined },
      database,
      { url: 'postgres://unused' },
    );
    expect(verifier.callerFor(bearer(key))).toBeUndefined();
    await verifier.reload();
    expect(verifier.callerFor(bearer(key))?.id).toBe('k1');
    fail = true;
    await verifier.reload();
    expect(verifier.callerFor(bearer(key))?.id).toBe('k1');
    fail = false;
    rows = [];
    await verifier.reload();
    expect(verifier.callerFor(bearer(key))).toBeUndefined();
    expect(verifier.keyIdFor(bearer('env-key'))).toMatch(/^[0-9a-f]{8}$/);
  });

  it('runs one more read when asked during a read (a change may have committed meanwhile)', async () => {
    let reads = 0;
    const { database } = fakeDatabase(() => {
      reads += 1;
      return [];
    });
    const verifier = new ServiceKeyVerifier(
      { keys: [], generatedFile: undefined },
      database,
      { url: 'postgres://unused' },
    );
    await Promise.all([
      verifier.reload(),
      verifier.reload(),
      verifier.reload(),
    ]);
    expect(reads).toBe(2);
  });

  it('writes the last use of each stored key once per flush, not per call, and never for env keys', async () => {
    const key = newServiceKey();
    const { database, updates } = fakeDatabase(() => [
      { id: 'k1', key_hash: serviceKeyHash(key), connection_ids: null },
    ]);
    const verifier = new ServiceKeyVerifier(
      { keys: ['env-key'], generatedFile: undefined },
      database,
      { url: 'postgres://unused' },
    );
    await verifier.reload();
    for (let call = 0; call < 100; call += 1) {
      verifier.callerFor(bearer(key));
      verifier.callerFor(bearer('env-key'));
    }
    expect(updates).toEqual([]);
    expect(await verifier.flushLastUsed()).toBe(1);
    expect(updates).toEqual([[['k1'], [expect.any(Date)]]]);
    expect(await verifier.flushLastUsed()).toBe(0);
    expect(updates).toHaveLength(1);
  });
});

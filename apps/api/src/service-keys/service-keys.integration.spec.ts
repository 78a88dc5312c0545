import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import type { CreatedServiceKeyDto, ServiceKeyDto } from '@keeper/contracts';
import {
  connectAccount,
  logIn,
  sandboxEnvironment,
} from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { ServiceKeyVerifier } from '../auth/service-key.verifier';

const ENV_KEY = 'svc-env-key-0123456789abcdef';
const UNKNOWN_ID = '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';

/** Polls `check` every 20 ms until it holds or `ms` passed; answers whether it held. */
async function within(ms: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('keys for jobs (service keys stored in PostgreSQL)', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let second: NestFastifyApplication;
  let admin: string;
  let alpha: string;
  let beta: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    const environment = {
      ...sandboxEnvironment(sandbox),
      SERVICE_API_KEYS: ENV_KEY,
      REFRESH_CRON: '0 0 0 1 1 *',
    };
    sut = await startTestApp(database, environment);
    second = await startTestApp(database, environment);
    admin = await logIn(sut);
    alpha = await connectAccount(sut, admin, { account: 'Keys Alpha' });
    beta = await connectAccount(sut, admin, { account: 'Keys Beta' });
  }, 60_000);

  afterAll(async () => {
    await second?.close();
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  const asAdmin = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: unknown,
    app = sut,
  ) =>
    app.inject({
      method,
      url: `/api/v1${url}`,
      headers: { cookie: admin, 'sec-fetch-site': 'same-origin' },
      ...(payload === undefined
        ? {}
        : { payload: payload as Record<string, unknown> }),
    });
  const create = async (payload: unknown) => {
    const response = await asAdmin('POST', '/service-keys', payload);
    expect(`${response.statusCode} ${response.body}`).toMatch(/^201 /);
    return response.json<CreatedServiceKeyDto>();
  };
  const token = (key: string, id: string, app = sut) =>
    app.inject({
      method: 'GET',
      url: `/api/v1/connections/${id}/access-token`,
      headers: { authorization: `Bearer ${key}` },
    });
  const proxied = (key: string, id: string, app = sut) =>
    app.inject({
      method: 'GET',
      url: `/api/v1/connections/${id}/ads/v2/profiles`,
      headers: { authorization: `Bearer ${key}` },
    });
  /** Status, body without the correlation id, and the headers a caller could tell apart. */
  const seen = (response: Awaited<ReturnType<typeof token>>) => {
    const body = response.json<Record<string, unknown>>();
    return {
      status: response.statusCode,
      body: { ...body, correlationId: undefined },
      correlationId: body.correlationId === response.headers['x-request-id'],
      headers: Object.fromEntries(
        Object.entries(response.headers).filter(
          ([name]) =>
            !['x-request-id', 'date', 'content-length'].includes(name),
        ),
      ),
    };
  };

  it('makes a key shown once, lists it without the key and stores only its SHA-256', async () => {
    const created = await create({ name: '  Nightly reports  ' });
    expect(created).toEqual({
      id: expect.any(String),
      name: 'Nightly reports',
      connectionIds: null,
      createdAt: expect.any(String),
      lastUsedAt: null,
      revokedAt: null,
      key: expect.stringMatching(/^atk_[A-Za-z0-9_-]{43}$/),
    });
    const list = await asAdmin('GET', '/service-keys');
    expect(list.body).not.toContain(created.key);
    expect(list.json<ServiceKeyDto[]>()).toContainEqual({
      ...created,
      key: undefined,
    });
    const [row] = await database.query<{ hex: string }>(
      "SELECT encode(key_hash, 'hex') AS hex FROM service_keys WHERE id = $1",
      [created.id],
    );
    const { createHash } = await import('node:crypto');
    expect(row.hex).toBe(
      createHash('sha256').update(created.key).digest('hex'),
    );
    const dump = JSON.stringify(
      await database.query('SELECT * FROM service_keys'),
    );
    expect(dump).not.toContain(created.key);
    const [audit] = await database.query<{ actor: string; details: object }>(
      "SELECT actor, details FROM audit_events WHERE type = 'service_key_created' AND details->>'keyId' = $1",
      [created.id],
    );
    expect(audit).toEqual({
      actor: 'admin',
      details: {
        keyId: created.id,
        name: 'Nightly reports',
        connections: 'all',
      },
    });
    expect((await token(created.key, alpha)).statusCode).toBe(200);
    expect((await token(created.key, beta)).statusCode).toBe(200);
  });

  it('limits a key to its connections: any other is, on both endpoints, exactly an unknown connection, and costs no token request', async () => {
    const limited = await create({
      name: 'Alpha only',
      connectionIds: [alpha],
    });
    expect(limited.connectionIds).toEqual([alpha]);
    // Beta's token is due: were it read for the limited key, it would be refreshed first.
    await database.query(
      "UPDATE connections SET access_token_expires_at = now() + interval '30 seconds', last_refreshed_at = now() - interval '1 hour' WHERE id = $1",
      [beta],
    );
    const tokenRequests = sandbox.requests({ endpoint: 'token' }).length;
    const adsRequests = sandbox.requests({ endpoint: 'ads' }).length;
    const profileRequests = sandbox.requests({ endpoint: 'profiles' }).length;

    expect((await token(limited.key, alpha)).statusCode).toBe(200);
    for (const answer of [token, proxied]) {
      const refused = seen(await answer(limited.key, beta));
      expect(refused.status).toBe(404);
      expect(refused.correlationId).toBe(true);
      // A connection that truly is not there, asked by a key that may see everything: the
      // refused key gets that answer exactly (but for the id it asked about, in the message).
      const unknownForAll = seen(await answer(ENV_KEY, UNKNOWN_ID));
      const unknownForLimited = seen(await answer(limited.key, UNKNOWN_ID));
      const withId = (value: typeof refused, id: string) =>
        JSON.parse(JSON.stringify(value).split(id).join('<id>'));
      expect(withId(refused, beta)).toEqual(withId(unknownForAll, UNKNOWN_ID));
      expect(unknownForLimited).toEqual(unknownForAll);
    }
    expect(sandbox.requests({ endpoint: 'token' }).length).toBe(tokenRequests);
    expect(sandbox.requests({ endpoint: 'ads' }).length).toBe(adsRequests);
    expect(sandbox.requests({ endpoint: 'profiles' }).length).toBe(
      profileRequests,
    );
    // The key that may see beta gets its token (refreshed first, as it was due).
    expect((await token(ENV_KEY, beta)).statusCode).toBe(200);
    expect(sandbox.requests({ endpoint: 'token' }).length).toBe(
      tokenRequests + 1,
    );
    // And the proxy serves the limited key its own connection.
    expect((await proxied(limited.key, alpha)).statusCode).toBe(200);
  });

  it('refuses a revoked key on another replica within a second, keeps the row and audits it once', async () => {
    const key = await create({ name: 'Short-lived' });
    // The second replica heard of the new key too.
    expect(
      await within(
        1_000,
        async () => (await token(key.key, alpha, second)).statusCode === 200,
      ),
    ).toBe(true);

    const revoked = await asAdmin('DELETE', `/service-keys/${key.id}`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json<ServiceKeyDto>().revokedAt).toEqual(expect.any(String));
    expect((await token(key.key, alpha)).statusCode).toBe(401);
    const started = Date.now();
    expect(
      await within(
        1_000,
        async () => (await token(key.key, alpha, second)).statusCode === 401,
      ),
    ).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await proxied(key.key, alpha, second)).statusCode).toBe(401);

    const again = await asAdmin('DELETE', `/service-keys/${key.id}`);
    expect(again.statusCode).toBe(200);
    expect(again.json<ServiceKeyDto>().revokedAt).toBe(
      revoked.json<ServiceKeyDto>().revokedAt,
    );
    const audits = await database.query<{ actor: string; details: object }>(
      "SELECT actor, details FROM audit_events WHERE type = 'service_key_revoked' AND details->>'keyId' = $1",
      [key.id],
    );
    expect(audits).toEqual([
      { actor: 'admin', details: { keyId: key.id, name: 'Short-lived' } },
    ]);
    const missing = await asAdmin('DELETE', `/service-keys/${UNKNOWN_ID}`);
    expect(missing.statusCode).toBe(404);
    expect(
      (await asAdmin('GET', '/service-keys')).json<ServiceKeyDto[]>(),
    ).toContainEqual(
      expect.objectContaining({ id: key.id, revokedAt: expect.any(String) }),
    );
  });

  it('picks up a key revoked behind its back at the next full reload (the safety net)', async () => {
    const key = await create({ name: 'Revoked by hand' });
    // Once the second replica knows the key, the reload the creation's NOTIFY asked for is done.
    expect(
      await within(
        1_000,
        async () => (await token(key.key, alpha, second)).statusCode === 200,
      ),
    ).toBe(true);
    // No NOTIFY: as if it were lost.
    await database.query(
      'UPDATE service_keys SET revoked_at = now() WHERE id = $1',
      [key.id],
    );
    expect((await token(key.key, alpha, second)).statusCode).toBe(200);
    await second.get(ServiceKeyVerifier).reload();
    expect((await token(key.key, alpha, second)).statusCode).toBe(401);
  });

  it('writes last use once for many calls, at the flush', async () => {
    const key = await create({ name: 'Busy job' });
    const verifier = sut.get(ServiceKeyVerifier);
    await verifier.flushLastUsed();
    for (let call = 0; call < 25; call += 1)
      expect((await token(key.key, alpha)).statusCode).toBe(200);
    const [before] = await database.query<{ last_used_at: Date | null }>(
      'SELECT last_used_at FROM service_keys WHERE id = $1',
      [key.id],
    );
    expect(before.last_used_at).toBeNull();
    expect(await verifier.flushLastUsed()).toBe(1);
    expect(await verifier.flushLastUsed()).toBe(0);
    const [after] = await database.query<{ last_used_at: Date | null }>(
      'SELECT last_used_at FROM service_keys WHERE id = $1',
      [key.id],
    );
    expect(after.last_used_at).toBeInstanceOf(Date);
    const listed = (await asAdmin('GET', '/service-keys'))
      .json<ServiceKeyDto[]>()
      .find((entry) => entry.id === key.id);
    expect(listed?.lastUsedAt).toBe(after.last_used_at?.toISOString());
  });

  it('writes the last use noted by a replica when it shuts down', async () => {
    const key = await create({ name: 'Used before a restart' });
    const third = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      REFRESH_CRON: '0 0 0 1 1 *',
    });
    try {
      expect((await token(key.key, alpha, third)).statusCode).toBe(200);
    } finally {
      await third.close();
    }
    const [row] = await database.query<{ last_used_at: Date | null }>(
      'SELECT last_used_at FROM service_keys WHERE id = $1',
      [key.id],
    );
    expect(row.last_used_at).toBeInstanceOf(Date);
  });

  it('names the key in the audit of a refresh its call caused (service:<key id>)', async () => {
    const key = await create({ name: 'Audited job' });
    const due = () =>
      database.query(
        "UPDATE connections SET access_token_expires_at = now() + interval '30 seconds', last_refreshed_at = now() - interval '1 hour' WHERE id = $1",
        [alpha],
      );
    const actors = async () =>
      (
        await database.query<{ actor: string }>(
          "SELECT actor FROM audit_events WHERE type = 'refreshed' AND connection_id = $1 ORDER BY id",
          [alpha],
        )
      ).map((row) => row.actor);
    const before = await actors();
    await due();
    expect((await token(key.key, alpha)).statusCode).toBe(200);
    await due();
    expect((await proxied(key.key, alpha)).statusCode).toBe(200);
    expect((await actors()).slice(before.length)).toEqual([
      `service:${key.id}`,
      `service:${key.id}`,
    ]);
  });

  it('keeps SERVICE_API_KEYS working for every connection', async () => {
    expect((await token(ENV_KEY, alpha)).statusCode).toBe(200);
    expect((await token(ENV_KEY, beta, second)).statusCode).toBe(200);
  });

  describe('refuses what an attacker sends', () => {
    it('keys that are not one: a wrong prefix, a huge key, a revoked row, a hash', async () => {
      const key = await create({ name: 'Attacked' });
      const [row] = await database.query<{ hex: string }>(
        "SELECT encode(key_hash, 'hex') AS hex FROM service_keys WHERE id = $1",
        [key.id],
      );
      const attempts = [
        `atx_${key.key.slice(4)}`,
        key.key.slice(4),
        `${key.key}${'A'.repeat(600)}`,
        'atk_'.padEnd(100_000, 'A'),
        row.hex,
        key.key.toUpperCase(),
      ];
      for (const attempt of attempts) {
        const response = await token(attempt, alpha);
        expect(`${attempt.slice(0, 20)}: ${response.statusCode}`).toBe(
          `${attempt.slice(0, 20)}: 401`,
        );
        expect(response.body).not.toContain(key.key.slice(4, 20));
      }
      await asAdmin('DELETE', `/service-keys/${key.id}`);
      expect((await token(key.key, alpha)).statusCode).toBe(401);
      expect((await proxied(key.key, alpha)).statusCode).toBe(401);
    });

    it('bad bodies: names and connection ids', async () => {
      const refused: [string, unknown, number?][] = [
        ['no name', {}],
        ['an empty name', { name: '   ' }],
        ['a long name', { name: 'x'.repeat(101) }],
        ['a control character', { name: 'a\u0000b' }],
        ['a name that is no string', { name: { $ne: 1 } }],
        ['an unknown id', { name: 'x', connectionIds: [UNKNOWN_ID] }],
        ['a non-uuid', { name: 'x', connectionIds: ["1' OR '1'='1"] }],
        ['an empty set', { name: 'x', connectionIds: [] }],
        ['not a list', { name: 'x', connectionIds: alpha }],
        ['nested ids', { name: 'x', connectionIds: [[alpha]] }],
        [
          '1,001 ids',
          {
            name: 'x',
            connectionIds: Array.from({ length: 1_001 }, () => alpha),
          },
        ],
        [
          '10,000 ids',
          {
            name: 'x',
            connectionIds: Array.from({ length: 10_000 }, () => alpha),
          },
          // Larger than any body the API takes: refused before it is parsed.
          413,
        ],
        ['an unknown field', { name: 'x', admin: true }],
        [
          'a deeply nested body',
          JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`),
        ],
      ];
      const before = await database.query('SELECT id FROM service_keys');
      for (const [why, body, status = 400] of refused) {
        const response = await asAdmin('POST', '/service-keys', body);
        expect(`${why}: ${response.statusCode}`).toBe(`${why}: ${status}`);
        expect(response.json()).toEqual({
          statusCode: status,
          error: expect.any(String),
          message: expect.any(String),
          correlationId: expect.any(String),
        });
      }
      expect(await database.query('SELECT id FROM service_keys')).toEqual(
        before,
      );
    });

    it('stores a SQL-ish name as text, and counts duplicate ids once', async () => {
      const name = "x'); DROP TABLE service_keys; --";
      const key = await create({
        name,
        connectionIds: [alpha, alpha, alpha.toUpperCase()],
      });
      expect(key.name).toBe(name);
      expect(key.connectionIds).toEqual([alpha]);
      expect((await token(key.key, alpha)).statusCode).toBe(200);
      expect((await token(key.key, beta)).statusCode).toBe(404);
    });

    it('refuses the admin routes to a job key and to another site', async () => {
      const key = await create({ name: 'Not an admin' });
      const asJob = await sut.inject({
        method: 'POST',
        url: '/api/v1/service-keys',
        headers: { authorization: `Bearer ${key.key}` },
        payload: { name: 'escalated' },
      });
      expect(asJob.statusCode).toBe(401);
      const crossSite = await sut.inject({
        method: 'DELETE',
        url: `/api/v1/service-keys/${key.id}`,
        headers: { cookie: admin, 'sec-fetch-site': 'cross-site' },
      });
      expect(crossSite.statusCode).toBe(403);
    });
  });
});

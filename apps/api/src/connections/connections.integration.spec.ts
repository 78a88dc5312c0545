import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import {
  connectAccount,
  logIn,
  sandboxEnvironment,
} from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { nextRefreshAtMs } from './connection-rules';
import { startTestApp } from '../../test/test-app';

describe('connections and the audit log over HTTP', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let cookie: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    sut = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      FERNET_KEYS: Fernet.generateKey(),
    });
    cookie = await logIn(sut);
  });

  afterAll(async () => {
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  const request = (
    method: 'GET' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) =>
    sut.inject({ method, url: `/api/v1${url}`, headers: { cookie }, payload });

  it('lists connections oldest first, with what the console needs and no token', async () => {
    const first = await connectAccount(sut, cookie, { account: 'List One' });
    const second = await connectAccount(sut, cookie, {
      region: 'eu',
      account: 'List Two',
    });

    const response = await request('GET', '/connections');

    expect(response.statusCode).toBe(200);
    const ids = response
      .json()
      .items.map((connection: { id: string }) => connection.id);
    expect(ids.indexOf(first)).toBeLessThan(ids.indexOf(second));
    const listed = response
      .json()
      .items.find((connection: { id: string }) => connection.id === second);
    expect(Object.keys(listed).sort()).toEqual([
      'accessTokenExpiresAt',
      'createdAt',
      'dspAdvertisers',
      'failureCount',
      'id',
      'label',
      'lastError',
      'lastRefreshedAt',
      'nextRefreshAt',
      'profiles',
      'profilesReadAt',
      'region',
      'status',
      'updatedAt',
    ]);
    // The connection's slot in the spread (connection-rules.ts): from 5 minutes after its last
    // refresh to the window (300 s) before its expiry.
    const nextRefreshAt = new Date(listed.nextRefreshAt).getTime();
    const expected = nextRefreshAtMs(
      {
        id: listed.id,
        status: listed.status,
        expiresAt: new Date(listed.accessTokenExpiresAt),
        lastRefreshedAt: new Date(listed.lastRefreshedAt),
        nextAttemptAt: null,
      },
      300,
    ) as number;
    // (Within 2 ms: the body's dates are whole milliseconds, the database's microseconds.)
    expect(Math.abs(nextRefreshAt - expected)).toBeLessThan(2);
    expect(
      new Date(listed.accessTokenExpiresAt).getTime() - nextRefreshAt,
    ).toBeGreaterThanOrEqual(300_000);
    expect(
      nextRefreshAt - new Date(listed.lastRefreshedAt).getTime(),
    ).toBeGreaterThan(300_000);
    expect(response.body).not.toMatch(/Atz[ar]\|/);
  });

  it('answers 404 for an unknown connection and 400 for an id that is not a UUID', async () => {
    const missing = await request(
      'GET',
      '/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
    );
    const malformed = await request('GET', '/connections/not-a-uuid');

    expect(missing.statusCode).toBe(404);
    expect(missing.json().message).toBe(
      'There is no connection 6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12.',
    );
    expect(malformed.statusCode).toBe(400);
  });

  it('renames a connection (trimmed, audited) and refuses a bad label', async () => {
    const id = await connectAccount(sut, cookie, { account: 'Rename Me' });

    const renamed = await request('PATCH', `/connections/${id}`, {
      label: '  Rename Me — EU reports  ',
    });
    const empty = await request('PATCH', `/connections/${id}`, {
      label: '   ',
    });
    const extra = await request('PATCH', `/connections/${id}`, {
      label: 'ok',
      status: 'active',
    });

    expect(renamed.json()).toMatchObject({
      id,
      label: 'Rename Me — EU reports',
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toBe('label must be 1 to 100 characters');
    expect(extra.statusCode).toBe(400);
    const audit = (
      await request('GET', `/audit-events?connectionId=${id}&type=renamed`)
    ).json();
    expect(audit.items).toEqual([
      expect.objectContaining({
        type: 'renamed',
        details: { from: expect.any(String), to: 'Rename Me — EU reports' },
      }),
    ]);
  });

  it('disconnects: the tokens are erased, the row and the audit trail stay', async () => {
    const id = await connectAccount(sut, cookie, { account: 'Leaving Ltd' });

    const response = await request('DELETE', `/connections/${id}`);

    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id,
      status: 'disconnected',
      accessTokenExpiresAt: null,
      nextRefreshAt: null,
    });
    const [row] = await database.query<Record<string, unknown>>(
      'SELECT access_token_ciphertext, refresh_token_ciphertext, key_id, disconnected_at FROM connections WHERE id = $1',
      [id],
    );
    expect(row).toMatchObject({
      access_token_ciphertext: null,
      refresh_token_ciphertext: null,
      key_id: null,
    });
    expect(row.disconnected_at).not.toBeNull();
    const types = (await request('GET', `/audit-events?connectionId=${id}`))
      .json()
      .items.map((event: { type: string }) => event.type);
    expect(types).toEqual(['disconnected', 'connected']);
    expect((await request('DELETE', `/connections/${id}`)).json().status).toBe(
      'disconnected',
    );
  });

  it('pages the audit log newest first with a cursor, and filters by type', async () => {
    for (const account of ['Page A', 'Page B', 'Page C'])
      await connectAccount(sut, cookie, { account });

    const first = (
      await request('GET', '/audit-events?type=connected&limit=2')
    ).json();
    const second = (
      await request(
        'GET',
        `/audit-events?type=connected&limit=2&before=${first.nextCursor}`,
      )
    ).json();

    expect(first.items).toHaveLength(2);
    expect(Number(first.items[0].id)).toBeGreaterThan(
      Number(first.items[1].id),
    );
    expect(Number(second.items[0].id)).toBeLessThan(Number(first.items[1].id));
    expect(
      [...first.items, ...second.items].every(
        (event: { type: string }) => event.type === 'connected',
      ),
    ).toBe(true);
  });

  it('refuses bad audit queries with clear messages', async () => {
    const responses = await Promise.all([
      request('GET', '/audit-events?limit=0'),
      request('GET', '/audit-events?type=exploded'),
      request('GET', '/audit-events?before=abc'),
      request('GET', '/audit-events?connectionId=42'),
    ]);

    expect(responses.map((response) => response.statusCode)).toEqual([
      400, 400, 400, 400,
    ]);
    expect(responses.map((response) => response.json().message)).toEqual([
      'limit must be a whole number from 1 to 200',
      expect.stringMatching(/^type must be one of connected, /),
      'before must be a cursor from a previous page',
      'connectionId must be a UUID',
    ]);
  });

  it('lists and shows connections without decrypting a token, even one under a key no longer configured', async () => {
    const retiredKey = new Fernet(Fernet.generateKey());
    const [row] = await database.query<{ id: string }>(
      `INSERT INTO connections (label, region, status, access_token_ciphertext, refresh_token_ciphertext, key_id, access_token_expires_at)
       VALUES ('Under a retired key', 'na', 'active', $1, $2, 'ffffffffffffffff', now() + interval '1 hour') RETURNING id`,
      [
        retiredKey.encrypt('Atza|retired-access'),
        retiredKey.encrypt('Atzr|retired-refresh'),
      ],
    );

    const list = await request('GET', '/connections');
    const one = await request('GET', `/connections/${row.id}`);
    const disconnected = await request('DELETE', `/connections/${row.id}`);

    expect(list.statusCode).toBe(200);
    expect(
      list
        .json()
        .items.map((connection: { label: string }) => connection.label),
    ).toContain('Under a retired key');
    expect(one.json()).toMatchObject({ id: row.id, status: 'active' });
    expect(disconnected.json()).toMatchObject({
      id: row.id,
      status: 'disconnected',
    });
  });
});

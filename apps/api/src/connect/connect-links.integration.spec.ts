import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import type { ConnectLinkDto, CreatedConnectLinkDto } from '@keeper/contracts';
import { createHash } from 'node:crypto';
import {
  connectAccount,
  CookieJar,
  logIn,
  sandboxEnvironment,
} from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';

type InjectResponse = Awaited<ReturnType<NestFastifyApplication['inject']>>;

const UNKNOWN_ID = '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';

describe('connect links: an account owner consents with no keeper login', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let admin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    sut = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      REFRESH_CRON: '0 0 0 1 1 *',
    });
    admin = await logIn(sut);
  }, 60_000);

  afterAll(async () => {
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  const asAdmin = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: unknown,
  ) =>
    sut.inject({
      method,
      url: `/api/v1${url}`,
      headers: { cookie: admin, 'sec-fetch-site': 'same-origin' },
      ...(payload === undefined
        ? {}
        : { payload: payload as Record<string, unknown> }),
    });

  const createLink = async (payload: unknown) => {
    const response = await asAdmin('POST', '/connect-links', payload);
    expect(`${response.statusCode} ${response.body}`).toMatch(/^201 /);
    return response.json<CreatedConnectLinkDto>();
  };

  const pathOf = (url: string) => new URL(url).pathname;
  const tokenRequests = () => sandbox.requests({ endpoint: 'token' }).length;

  /** The owner's browser: opens the link, continues, answers the sandbox's consent. */
  async function ownerConsent(
    link: { url: string },
    options: { jar?: CookieJar; account?: string } = {},
  ) {
    const jar = options.jar ?? new CookieJar();
    const opened = await sut.inject({
      method: 'GET',
      url: pathOf(link.url),
      headers: { cookie: jar.header() },
    });
    const continued = await sut.inject({
      method: 'POST',
      url: pathOf(link.url),
      headers: {
        cookie: jar.header(),
        'sec-fetch-site': 'same-origin',
        'content-type': 'text/plain',
      },
      payload: '',
    });
    jar.take(continued);
    if (continued.statusCode !== 303)
      return { jar, opened, continued, callbackUrl: undefined };
    const consentUrl = new URL(String(continued.headers.location));
    consentUrl.searchParams.set('sandbox_auto', 'allow');
    if (options.account)
      consentUrl.searchParams.set('sandbox_account', options.account);
    const answer = await fetch(consentUrl, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    return {
      jar,
      opened,
      continued,
      callbackUrl: new URL(String(answer.headers.get('location'))),
    };
  }

  async function callback(callbackUrl: URL, jar: CookieJar) {
    const response = await sut.inject({
      method: 'GET',
      url: `${callbackUrl.pathname}${callbackUrl.search}`,
      headers: { cookie: jar.header() },
    });
    jar.take(response);
    return { response, target: new URL(String(response.headers.location)) };
  }

  const linkRow = async (id: string) =>
    (await asAdmin('GET', '/connect-links'))
      .json<ConnectLinkDto[]>()
      .find((link) => link.id === id);

  const connectionCount = async () =>
    Number(
      (
        await database.query<{ count: string }>(
          'SELECT count(*) FROM connections',
        )
      )[0].count,
    );

  const page = async (response: InjectResponse) => {
    const done = await sut.inject({
      method: 'GET',
      url: `${new URL(String(response.headers.location)).pathname}${new URL(String(response.headers.location)).search}`,
    });
    return done.body;
  };

  it('makes a link shown once, stores only its SHA-256, and the owner connects with it (one code exchange)', async () => {
    const link = await createLink({
      region: 'eu',
      label: 'Acme <Outdoor>',
      expiresInHours: 24,
    });
    expect(link).toMatchObject({
      region: 'eu',
      label: 'Acme <Outdoor>',
      connectionId: null,
      state: 'open',
      createdBy: 'admin',
      usedAt: null,
      revokedAt: null,
      resultConnectionId: null,
    });
    const secret = pathOf(link.url).split('/').pop() as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pathOf(link.url)).toBe(`/api/v1/connect/${secret}`);
    expect(
      new Date(link.expiresAt).getTime() - new Date(link.createdAt).getTime(),
    ).toBe(24 * 3600 * 1000);
    const [row] = await database.query<{ hex: string }>(
      "SELECT encode(secret_hash, 'hex') AS hex FROM connect_links WHERE id = $1",
      [link.id],
    );
    expect(row.hex).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(
      JSON.stringify(await database.query('SELECT * FROM connect_links')),
    ).not.toContain(secret);
    const list = await asAdmin('GET', '/connect-links');
    expect(list.body).not.toContain(secret);

    const before = tokenRequests();
    const connectionsBefore = await connectionCount();
    const leg = await ownerConsent(link, { account: 'Link Owner One' });
    expect(leg.opened.statusCode).toBe(200);
    expect(leg.opened.headers['content-type']).toMatch(/text\/html/);
    expect(leg.opened.headers['cache-control']).toBe('no-store');
    // Never sent on to Amazon; same-origin so Chromium posts the form with its Origin.
    expect(leg.opened.headers['referrer-policy']).toBe('same-origin');
    expect(leg.opened.body).not.toContain(secret);
    expect(leg.opened.body).toContain('advertising::campaign_management');
    expect(leg.opened.body).toContain('Acme &lt;Outdoor&gt;');
    expect(leg.opened.body).toContain('Continue to Amazon');
    expect(leg.opened.body).toContain('Europe');
    const authorization = new URL(String(leg.continued.headers.location));
    expect(authorization.searchParams.get('code_challenge_method')).toBe(
      'S256',
    );
    expect(leg.jar.get('atk_link_oauth')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { target, response } = await callback(
      leg.callbackUrl as URL,
      leg.jar,
    );
    expect(response.statusCode).toBe(303);
    expect(target.pathname).toBe('/api/v1/connect/done');
    expect(target.search).toBe('?outcome=connected');
    expect(await page(response)).toContain('the account is connected');
    expect(tokenRequests()).toBe(before + 1);
    expect(await connectionCount()).toBe(connectionsBefore + 1);

    const used = await linkRow(link.id);
    expect(used).toMatchObject({
      state: 'used',
      usedAt: expect.any(String),
      resultConnectionId: expect.any(String),
    });
    const audits = await database.query<{ type: string; actor: string }>(
      `SELECT type, actor FROM audit_events WHERE details->>'linkId' = $1 ORDER BY created_at, id`,
      [link.id],
    );
    expect(audits).toEqual([
      { type: 'link_created', actor: 'admin' },
      { type: 'link_opened', actor: `link:${link.id}` },
      { type: 'connected', actor: `link:${link.id}` },
    ]);

    // Used: the page, "Continue" and a second consent are refused, with no token request.
    const again = await ownerConsent(link);
    expect(again.opened.statusCode).toBe(410);
    expect(again.opened.body).toContain('already used');
    expect(again.continued.statusCode).toBe(410);
    expect(tokenRequests()).toBe(before + 1);
  });

  it('refuses an expired, a revoked and an unknown link with no token request and nothing changed', async () => {
    const expired = await createLink({ region: 'na' });
    // The clock: the link's expiry moved into the past (no sleeping).
    await database.query(
      "UPDATE connect_links SET expires_at = now() - interval '1 second' WHERE id = $1",
      [expired.id],
    );
    const revoked = await createLink({ region: 'na' });
    const revoke = await asAdmin('DELETE', `/connect-links/${revoked.id}`);
    expect(revoke.json<ConnectLinkDto>().state).toBe('revoked');
    // Idempotent: again, the same answer and one audit.
    const revokeAgain = await asAdmin('DELETE', `/connect-links/${revoked.id}`);
    expect(revokeAgain.json<ConnectLinkDto>().revokedAt).toBe(
      revoke.json<ConnectLinkDto>().revokedAt,
    );
    expect(
      await database.query(
        "SELECT actor FROM audit_events WHERE type = 'link_revoked' AND details->>'linkId' = $1",
        [revoked.id],
      ),
    ).toEqual([{ actor: 'admin' }]);
    expect(
      (await asAdmin('DELETE', `/connect-links/${UNKNOWN_ID}`)).statusCode,
    ).toBe(404);

    const before = tokenRequests();
    const connectionsBefore = await connectionCount();
    const unknown = {
      url: 'http://localhost/api/v1/connect/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    };
    for (const [link, status, text] of [
      [expired, 410, 'expired'],
      [revoked, 410, 'withdrawn'],
      [unknown, 404, 'not known'],
    ] as const) {
      const leg = await ownerConsent(link);
      expect(leg.opened.statusCode).toBe(status);
      expect(leg.opened.body).toContain(text);
      expect(leg.continued.statusCode).toBe(status);
      expect(leg.jar.get('atk_link_oauth')).toBeUndefined();
    }
    expect((await linkRow(expired.id))?.state).toBe('expired');
    expect(tokenRequests()).toBe(before);
    expect(await connectionCount()).toBe(connectionsBefore);
  });

  it('refuses a consent whose link was revoked after "Continue", with no token request', async () => {
    const link = await createLink({ region: 'na' });
    const leg = await ownerConsent(link, { account: 'Revoked Midway' });
    await asAdmin('DELETE', `/connect-links/${link.id}`);
    const before = tokenRequests();
    const { target } = await callback(leg.callbackUrl as URL, leg.jar);
    expect(target.search).toBe('?outcome=link_revoked');
    expect(tokenRequests()).toBe(before);
  });

  it('refuses a state brought back by another browser (no token request), and the link stays open', async () => {
    const link = await createLink({ region: 'na' });
    const leg = await ownerConsent(link, { account: 'Other Browser' });
    const before = tokenRequests();
    const elsewhere = new CookieJar();
    const { target } = await callback(leg.callbackUrl as URL, elsewhere);
    expect(target.pathname).toBe('/api/v1/connect/done');
    expect(target.search).toBe('?outcome=state_invalid');
    // Another browser with a binding cookie of its own: refused the same way.
    const other = await ownerConsent(await createLink({ region: 'na' }));
    const foreign = await callback(leg.callbackUrl as URL, other.jar);
    expect(foreign.target.search).toBe('?outcome=state_invalid');
    expect(tokenRequests()).toBe(before);
    expect((await linkRow(link.id))?.state).toBe('open');
  });

  it('a reconnect link renews its connection on the same account only; another account changes nothing and the link stays open', async () => {
    const connectionId = await connectAccount(sut, admin, {
      account: 'Reconnect Target',
    });
    const other = await connectAccount(sut, admin, {
      account: 'Someone Else',
    });
    await database.query(
      "UPDATE connections SET status = 'needs_reauth' WHERE id = $1",
      [connectionId],
    );
    const refusedTarget = await asAdmin('POST', '/connect-links', {
      region: 'eu',
      connectionId,
    });
    expect(refusedTarget.statusCode).toBe(400);
    const link = await createLink({ region: 'na', connectionId });
    expect(link.connectionId).toBe(connectionId);
    type Snapshot = {
      id: string;
      status: string;
      refresh_token_ciphertext: string;
    };
    const snapshot = async () =>
      database.query<Snapshot>(
        'SELECT id, status, refresh_token_ciphertext, amazon_account_ids FROM connections ORDER BY id',
      );
    const before = await snapshot();

    const wrong = await ownerConsent(link, { account: 'Someone Else' });
    expect(wrong.opened.body).toContain('Reconnect');
    const mismatch = await callback(wrong.callbackUrl as URL, wrong.jar);
    expect(mismatch.target.search).toBe('?outcome=account_mismatch');
    expect(await page(mismatch.response)).toContain(
      'not the Amazon account this link is for',
    );
    expect(await snapshot()).toEqual(before);
    expect((await linkRow(link.id))?.state).toBe('open');

    const requests = tokenRequests();
    const right = await ownerConsent(link, { account: 'Reconnect Target' });
    const done = await callback(right.callbackUrl as URL, right.jar);
    expect(done.target.search).toBe('?outcome=reconnected');
    expect(tokenRequests()).toBe(requests + 1);
    const after = await snapshot();
    const renewed = after.find((row) => row.id === connectionId) as Snapshot;
    expect(renewed.status).toBe('active');
    expect(renewed.refresh_token_ciphertext).not.toBe(
      (before.find((row) => row.id === connectionId) as Snapshot)
        .refresh_token_ciphertext,
    );
    expect(after.find((row) => row.id === other)).toEqual(
      before.find((row) => row.id === other),
    );
    expect(await linkRow(link.id)).toMatchObject({
      state: 'used',
      resultConnectionId: connectionId,
    });
    expect(
      await database.query(
        "SELECT actor FROM audit_events WHERE type = 'reconnected' AND details->>'linkId' = $1",
        [link.id],
      ),
    ).toEqual([{ actor: `link:${link.id}` }]);
  });

  it('refuses a reconnect link whose connection was disconnected since, with no token request', async () => {
    const connectionId = await connectAccount(sut, admin, {
      account: 'Gone Since',
    });
    const link = await createLink({ region: 'na', connectionId });
    const disconnected = await asAdmin(
      'DELETE',
      `/connections/${connectionId}`,
    );
    expect(disconnected.statusCode).toBe(200);
    const leg = await ownerConsent(link, { account: 'Gone Since' });
    const before = tokenRequests();
    const { target, response } = await callback(
      leg.callbackUrl as URL,
      leg.jar,
    );
    expect(target.search).toBe('?outcome=connection_gone');
    expect(tokenRequests()).toBe(before);
    expect(await page(response)).toContain('was disconnected');
    const [row] = await database.query<{ status: string }>(
      'SELECT status FROM connections WHERE id = $1',
      [connectionId],
    );
    expect(row.status).toBe('disconnected');
    expect((await linkRow(link.id))?.state).toBe('open');
  });

  it('validates the admin request', async () => {
    for (const payload of [
      { region: 'xx' },
      { region: 'na', expiresInHours: 0 },
      { region: 'na', expiresInHours: 169 },
      { region: 'na', expiresInHours: 1.5 },
      { region: 'na', connectionId: 'nope' },
      { region: 'na', connectionId: UNKNOWN_ID },
      { region: 'na', label: 'x'.repeat(101) },
    ])
      expect(
        (await asAdmin('POST', '/connect-links', payload)).statusCode,
      ).toBe(400);
    const link = await createLink({ region: 'fe' });
    expect(
      new Date(link.expiresAt).getTime() - new Date(link.createdAt).getTime(),
    ).toBe(72 * 3600 * 1000);
  });
});

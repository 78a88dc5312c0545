import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import type { FaultSpec, RunningSandbox } from '@keeper/lwa-sandbox';
import { startLwaSandbox } from '@keeper/lwa-sandbox';
import { randomBytes } from 'node:crypto';
import { AlertService } from '../../src/alerts/alert.service';
import { RefreshScheduler } from '../../src/refresh/refresh.scheduler';
import { ServiceKeyVerifier } from '../../src/auth/service-key.verifier';
import { cookiesFrom } from '../connect-flow';
import { createTestDatabase, TestDatabase } from '../test-database';
import { startTestApp } from '../test-app';
import {
  CapturedOutput,
  captureOutput,
  occurrences,
  startWebhookSink,
  WebhookSink,
} from './security-harness';

/**
 * Canaries: every secret the service handles carries one marker (letters and digits, so no
 * encoding hides it): the sandbox's codes and tokens (`secretMarker`), the client secret, the
 * admin password, the service key, the alert signing secret, wrong passwords, and the codes and
 * states a hostile callback carries (its `error` and `error_description` are no secrets: they
 * are logged as Amazon sent them). After a session with faults (Amazon's 500s, 429s, timeouts, resets, broken
 * JSON, invalid_grant and invalid_client; bad, replayed and foreign callbacks; wrong passwords;
 * refresh now, scheduled sweeps, access-token reads, Ads API calls through the proxy, keys for
 * jobs made, used, refused and revoked (each key allowed only in the answer that made it), imports
 * of refresh tokens (plain and under an old Fernet key that carries the marker), rename,
 * disconnect, logout), the marker must
 * appear in no log line (at level trace), no row of any table, no error body, no SSE message, no
 * alert and no console response: only in the access-token endpoint's answers to a service key.
 */
const MARKER = `CANARY${randomBytes(6).toString('hex').toUpperCase()}`;
const CLIENT_SECRET = `client-secret-${MARKER}`;
const ADMIN_PASSWORD = `admin-password-${MARKER}`;
const SERVICE_KEY = `svc-${MARKER}-key-0001`;
const ALERT_SECRET = `alert-secret-${MARKER}`;
const FERNET_KEY = Fernet.generateKey();

interface Recorded {
  what: string;
  status: number;
  headers: string;
  body: string;
}

describe('canaries: no secret leaves by a log, a row, an error, an event, an alert or a page', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let output: CapturedOutput;
  let webhooks: WebhookSink;
  let admin = '';
  let eventsText = '';
  let eventsDone: Promise<void>;
  let stopEvents: () => void;
  const recorded: Recorded[] = [];
  /** Every state the API issued: secret everywhere but in the consent URL itself. */
  const states: string[] = [];
  /** Every connect link's secret: shown in the answer that made it, nowhere else. */
  const linkSecrets: string[] = [];
  let address = 0;

  type InjectOptions = {
    method: string;
    url: string;
    headers?: Record<string, string>;
    payload?: unknown;
    remoteAddress?: string;
  };
  async function call(what: string, options: InjectOptions) {
    const response = await sut.inject({
      remoteAddress: '127.0.0.1',
      ...options,
      method: options.method as 'GET',
      payload: options.payload as string,
    });
    recorded.push({
      what,
      status: response.statusCode,
      headers: JSON.stringify(response.headers),
      body: response.body,
    });
    return response;
  }
  const asAdmin = (
    what: string,
    method: string,
    url: string,
    payload?: unknown,
  ) =>
    call(what, {
      method,
      url: `/api/v1${url}`,
      headers: { cookie: admin, 'sec-fetch-site': 'same-origin' },
      payload,
    });
  const asJob = (what: string, id: string, key = SERVICE_KEY) =>
    call(what, {
      method: 'GET',
      url: `/api/v1/connections/${id}/access-token`,
      headers: { authorization: `Bearer ${key}` },
    });

  async function logIn(password: string) {
    address += 1;
    const response = await call(
      `login ${password === ADMIN_PASSWORD ? 'right' : 'wrong'}`,
      {
        method: 'POST',
        url: '/api/v1/session',
        payload: { password },
        remoteAddress: `10.55.0.${address}`,
      },
    );
    if (response.statusCode === 201)
      admin = `atk_session=${cookiesFrom(response).atk_session}`;
    return response;
  }

  /** Start (as the admin), the sandbox's consent page answered at once, and the callback. */
  async function connect(
    what: string,
    options: {
      region?: string;
      account?: string;
      faults?: FaultSpec[];
      tamper?: (url: URL) => void;
      cookie?: string;
    } = {},
  ) {
    const start = await asAdmin(
      `${what}: start`,
      'GET',
      `/auth/amazon/start?region=${options.region ?? 'na'}`,
    );
    const consentUrl = new URL(String(start.headers.location));
    states.push(consentUrl.searchParams.get('state') as string);
    consentUrl.searchParams.set('sandbox_auto', 'allow');
    consentUrl.searchParams.set(
      'sandbox_account',
      options.account ?? 'Canary Default',
    );
    const consented = await fetch(consentUrl, { redirect: 'manual' });
    const back = new URL(String(consented.headers.get('location')));
    options.tamper?.(back);
    for (const fault of options.faults ?? []) sandbox.queueFault(fault);
    const response = await call(`${what}: callback`, {
      method: 'GET',
      url: `${back.pathname}${back.search}`,
      headers: {
        cookie: options.cookie ?? `atk_oauth=${cookiesFrom(start).atk_oauth}`,
      },
    });
    sandbox.clearFaults();
    const target = new URL(String(response.headers.location));
    return {
      id: target.searchParams.get('connectionId'),
      outcome: target.searchParams.get('connect'),
      back,
    };
  }

  async function openEventStream(): Promise<void> {
    await sut.listen({ port: 0, host: '127.0.0.1' });
    const controller = new AbortController();
    stopEvents = () => controller.abort();
    const response = await fetch(`${await sut.getUrl()}/api/v1/events`, {
      headers: { cookie: admin },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    eventsDone = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          eventsText += decoder.decode(value, { stream: true });
        }
      } catch {
        // aborted at the end of the session
      }
    })();
  }

  async function tableDump(): Promise<string> {
    const tables = await database.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
      [database.schema],
    );
    const dumps = [];
    for (const { table_name } of tables) {
      dumps.push(
        `${table_name}: ${JSON.stringify(await database.query(`SELECT * FROM "${table_name}"`))}`,
      );
    }
    return dumps.join('\n');
  }

  beforeAll(async () => {
    output = captureOutput();
    database = await createTestDatabase();
    webhooks = await startWebhookSink();
    sandbox = await startLwaSandbox({
      secretMarker: MARKER,
      clientSecret: CLIENT_SECRET,
    });
    sut = await startTestApp(database, {
      AMAZON_CLIENT_ID: sandbox.clientId,
      AMAZON_CLIENT_SECRET: CLIENT_SECRET,
      AMAZON_AUTHORIZE_URL: `${sandbox.url}/ap/oa`,
      AMAZON_TOKEN_URL: `${sandbox.url}/auth/o2/token`,
      AMAZON_ADS_API_URL: sandbox.url,
      AMAZON_TIMEOUT_MS: '400',
      ADMIN_PASSWORD,
      SERVICE_API_KEYS: `other-service-key-000000000,${SERVICE_KEY}`,
      ALERT_WEBHOOK_URL: webhooks.url,
      ALERT_WEBHOOK_SECRET: ALERT_SECRET,
      FERNET_KEYS: FERNET_KEY,
      REFRESH_CRON: '0 0 0 1 1 *',
      REFRESH_MAX_RETRIES: '1',
      LOG_LEVEL: 'trace',
    });
  }, 60_000);

  afterAll(async () => {
    stopEvents?.();
    await sut?.close();
    await sandbox?.close();
    await webhooks?.close();
    await database?.drop();
    output?.restore();
  });

  it('runs a session with faults and finds the marker only where a service key asked for a token', async () => {
    // Wrong passwords (carrying the marker), then the right one.
    expect((await logIn(`wrong-${MARKER}`)).statusCode).toBe(401);
    expect((await logIn(`${ADMIN_PASSWORD}x`)).statusCode).toBe(401);
    expect((await logIn(ADMIN_PASSWORD)).statusCode).toBe(201);
    await openEventStream();

    // Connections, then callbacks while Amazon misbehaves.
    const alpha = await connect('alpha', {
      region: 'na',
      account: 'Canary Alpha',
    });
    const beta = await connect('beta', {
      region: 'eu',
      account: 'Canary Beta',
    });
    const gamma = await connect('gamma', {
      region: 'fe',
      account: 'Canary Gamma',
    });
    expect([alpha.outcome, beta.outcome, gamma.outcome]).toEqual([
      'connected',
      'connected',
      'connected',
    ]);
    const faulty: [string, FaultSpec[]][] = [
      ['token 500', [{ endpoint: 'token', kind: '500', count: 2 }]],
      [
        'token 429',
        [{ endpoint: 'token', kind: '429', retryAfter: 1, count: 2 }],
      ],
      ['token 503', [{ endpoint: 'token', kind: '503', count: 2 }]],
      [
        'token timeout',
        [{ endpoint: 'token', kind: 'timeout', ms: 1500, count: 2 }],
      ],
      ['token reset', [{ endpoint: 'token', kind: 'reset', count: 2 }]],
      ['token malformed', [{ endpoint: 'token', kind: 'malformed_json' }]],
      ['token invalid_grant', [{ endpoint: 'token', kind: 'invalid_grant' }]],
      ['token invalid_client', [{ endpoint: 'token', kind: 'invalid_client' }]],
      ['profiles 503', [{ endpoint: 'profiles', kind: '503', count: 2 }]],
      [
        'profiles 401',
        [{ endpoint: 'profiles', kind: 'unauthorized', count: 2 }],
      ],
      [
        'profiles malformed',
        [{ endpoint: 'profiles', kind: 'malformed_json', count: 2 }],
      ],
      [
        'profiles timeout',
        [{ endpoint: 'profiles', kind: 'timeout', ms: 1500, count: 2 }],
      ],
    ];
    for (const [what, faults] of faulty)
      await connect(what, { account: `Canary ${what}`, faults });

    // Hostile and broken callbacks.
    const replayed = await connect('replay source', {
      account: 'Canary Replay',
    });
    await call('replayed callback', {
      method: 'GET',
      url: `${replayed.back.pathname}${replayed.back.search}`,
    });
    await connect('no binding cookie', { cookie: '' });
    await connect('foreign binding cookie', {
      cookie: `atk_oauth=${'Q'.repeat(43)}`,
    });
    await connect('duplicated code', {
      tamper: (url) => url.searchParams.append('code', `AN${MARKER}second`),
    });
    await connect('denied with a description', {
      tamper: (url) => {
        url.searchParams.delete('code');
        url.searchParams.set('error', 'access_denied');
        url.searchParams.set('error_description', 'the user said no');
      },
    });
    await connect('error with a code', {
      tamper: (url) => url.searchParams.set('error', 'server_error'),
    });
    for (const search of [
      `?code=AN${MARKER}forged&state=${'A'.repeat(43)}`,
      `?code=AN${MARKER}forged&state=${MARKER}`,
      `?error=invalid_request&error_description=nope&state=${MARKER}&code=AN${MARKER}`,
      `?code=AN${MARKER}&code=AN${MARKER}&state=x&state=y`,
    ]) {
      await call('forged callback', {
        method: 'GET',
        url: `/api/v1/auth/amazon/callback${search}`,
        headers: { cookie: `atk_oauth=${MARKER}` },
      });
    }

    // Refresh now, with and without faults (a 429 holds the connection until Retry-After: last);
    // invalid_grant puts gamma in needs_reauth.
    const refreshed = await asAdmin(
      'refresh now',
      'POST',
      `/connections/${alpha.id}/refresh`,
    );
    expect(`${refreshed.statusCode} ${refreshed.body}`).toMatch(/^200 /);
    for (const fault of [
      { endpoint: 'token', kind: '500', count: 2 },
      { endpoint: 'token', kind: 'timeout', ms: 1500, count: 2 },
      { endpoint: 'token', kind: 'malformed_json', count: 2 },
      { endpoint: 'token', kind: 'reset', count: 2 },
      { endpoint: 'token', kind: '429', retryAfter: 1, count: 2 },
    ] as FaultSpec[]) {
      sandbox.queueFault(fault);
      await asAdmin(
        `refresh now, ${fault.kind}`,
        'POST',
        `/connections/${alpha.id}/refresh`,
      );
      sandbox.clearFaults();
    }
    sandbox.queueFault({ endpoint: 'token', kind: 'invalid_grant' });
    await asAdmin(
      'refresh now, invalid_grant',
      'POST',
      `/connections/${gamma.id}/refresh`,
    );

    // Access-token reads: the jobs' key, wrong keys, the admin's session, a connection needing consent,
    // and one expiring soon (refreshed first, through a fault).
    expect((await asJob('access token', alpha.id as string)).statusCode).toBe(
      200,
    );
    await asJob(
      'access token, wrong key',
      alpha.id as string,
      `wrong-${MARKER}-0000000000`,
    );
    await call('access token, admin session', {
      method: 'GET',
      url: `/api/v1/connections/${alpha.id}/access-token`,
      headers: { cookie: admin },
    });
    await asJob('access token, needs reauth', gamma.id as string);
    // An hour later, as it were: a token refreshed seconds ago is not refreshed again (README, "Never too often").
    await database.query(
      "UPDATE connections SET access_token_expires_at = now() + interval '30 seconds', last_refreshed_at = now() - interval '1 hour' WHERE id = $1",
      [beta.id],
    );
    sandbox.queueFault({ endpoint: 'token', kind: '503', count: 2 });
    await asJob('access token, refresh first fails', beta.id as string);
    sandbox.clearFaults();
    expect(
      (await asJob('access token, refreshed first', beta.id as string))
        .statusCode,
    ).toBe(200);

    // The Ads API proxy: the token goes to Amazon and nowhere else (not back, not into a log):
    // a 401 and its refresh, the echo of what Amazon received, a 500, refused paths and scopes.
    const alphaProfile = (
      await asAdmin(
        'connection for the proxy',
        'GET',
        `/connections/${alpha.id}`,
      )
    ).json<{ profiles: { profileId: string }[] }>().profiles[0].profileId;
    const asProxy = (
      what: string,
      path: string,
      options: {
        method?: string;
        headers?: Record<string, string>;
        payload?: string;
      } = {},
    ) =>
      call(`proxy ${what}`, {
        method: options.method ?? 'GET',
        url: `/api/v1/connections/${alpha.id}/ads${path}`,
        headers: { authorization: `Bearer ${SERVICE_KEY}`, ...options.headers },
        payload: options.payload,
      });
    const scope = { 'amazon-advertising-api-scope': alphaProfile };
    sandbox.queueFault({ endpoint: 'profiles', kind: 'unauthorized' });
    expect(
      (await asProxy('profiles after a 401', '/v2/profiles')).statusCode,
    ).toBe(200);
    expect(
      (
        await asProxy('echo', '/v2/echo/canary?x=1', {
          method: 'POST',
          headers: {
            ...scope,
            'content-type': 'application/json',
            cookie: admin,
          },
          payload: '{"report":"canary"}',
        })
      ).statusCode,
    ).toBe(200);
    sandbox.queueFault({ endpoint: 'ads', kind: '500' });
    await asProxy('500', '/v2/echo/canary', { method: 'POST', headers: scope });
    await asProxy('bad path', '/v2/%2e%2e/canary');
    await asProxy('unknown scope', '/v2/echo/canary', {
      headers: { 'amazon-advertising-api-scope': '1' },
    });
    await call('proxy wrong key', {
      method: 'GET',
      url: `/api/v1/connections/${alpha.id}/ads/v2/profiles`,
      headers: { authorization: `Bearer wrong-${MARKER}-0000000000` },
    });
    sandbox.clearFaults();

    // Keys for jobs: made in the API (each shown once, in its create answer and nowhere else),
    // used for tokens and proxied calls, one limited to alpha asking for beta, listed, revoked.
    const made = await asAdmin('service key create', 'POST', '/service-keys', {
      name: 'Canary job',
    });
    const limited = await asAdmin(
      'service key create, limited',
      'POST',
      '/service-keys',
      { name: 'Canary alpha only', connectionIds: [alpha.id] },
    );
    const storedKey = made.json<{ key: string }>().key;
    const limitedKey = limited.json<{ key: string }>().key;
    expect([made.statusCode, limited.statusCode]).toEqual([201, 201]);
    expect(
      (await asJob('access token, stored key', alpha.id as string, storedKey))
        .statusCode,
    ).toBe(200);
    expect(
      (await asJob('access token, limited key', alpha.id as string, limitedKey))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await asJob(
          'access token, limited key elsewhere',
          beta.id as string,
          limitedKey,
        )
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await asProxy('stored key', '/v2/profiles', {
          headers: { authorization: `Bearer ${storedKey}` },
        })
      ).statusCode,
    ).toBe(200);
    await call('proxy limited key elsewhere', {
      method: 'GET',
      url: `/api/v1/connections/${beta.id}/ads/v2/profiles`,
      headers: { authorization: `Bearer ${limitedKey}` },
    });
    await asAdmin('service keys list', 'GET', '/service-keys');
    await asAdmin(
      'service key revoke',
      'DELETE',
      `/service-keys/${made.json<{ id: string }>().id}`,
    );
    expect(
      (await asJob('access token, revoked key', alpha.id as string, storedKey))
        .statusCode,
    ).toBe(401);
    await sut.get(ServiceKeyVerifier).flushLastUsed();

    // Connect links: made (the URL shown once, in the create answer), opened by an owner with
    // no keeper login, continued to the sandbox, called back (a code carrying the marker),
    // refused once used, listed and revoked.
    const link = await asAdmin(
      'connect link create',
      'POST',
      '/connect-links',
      {
        region: 'na',
        label: 'Canary owner',
      },
    );
    expect(link.statusCode).toBe(201);
    const linkUrl = new URL(link.json<{ url: string }>().url);
    linkSecrets.push(linkUrl.pathname.split('/').pop() as string);
    await call('connect link page', { method: 'GET', url: linkUrl.pathname });
    const continued = await call('connect link: start', {
      method: 'POST',
      url: linkUrl.pathname,
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    expect(continued.statusCode).toBe(303);
    const ownerConsent = new URL(String(continued.headers.location));
    states.push(ownerConsent.searchParams.get('state') as string);
    ownerConsent.searchParams.set('sandbox_auto', 'allow');
    ownerConsent.searchParams.set('sandbox_account', 'Canary Link Owner');
    const ownerBack = new URL(
      String(
        (await fetch(ownerConsent, { redirect: 'manual' })).headers.get(
          'location',
        ),
      ),
    );
    const ownerDone = await call('connect link: callback', {
      method: 'GET',
      url: `${ownerBack.pathname}${ownerBack.search}`,
      headers: {
        cookie: `atk_link_oauth=${cookiesFrom(continued).atk_link_oauth}`,
      },
    });
    const donePage = new URL(String(ownerDone.headers.location));
    expect(donePage.search).toBe('?outcome=connected');
    await call('connect link done page', {
      method: 'GET',
      url: `${donePage.pathname}${donePage.search}`,
    });
    expect(
      (
        await call('connect link page, used', {
          method: 'GET',
          url: linkUrl.pathname,
        })
      ).statusCode,
    ).toBe(410);
    await asAdmin('connect links list', 'GET', '/connect-links');
    await asAdmin(
      'connect link revoke',
      'DELETE',
      `/connect-links/${link.json<{ id: string }>().id}`,
    );

    // Scheduled sweeps: a transient failure, a revoked grant, then recovery (alerts on the way).
    const scheduler = sut.get(RefreshScheduler);
    await database.query(
      "UPDATE connections SET access_token_expires_at = now() + interval '30 seconds', last_refreshed_at = now() - interval '1 hour' WHERE id = ANY($1)",
      [[alpha.id, beta.id]],
    );
    const [betaRow] = await database.query<{
      refresh_token_ciphertext: string;
    }>('SELECT refresh_token_ciphertext FROM connections WHERE id = $1', [
      beta.id,
    ]);
    sandbox.revokeRefreshToken(
      new Fernet(FERNET_KEY)
        .decrypt(betaRow.refresh_token_ciphertext)
        .toString(),
    );
    sandbox.queueFault({ endpoint: 'token', kind: '500', count: 2 });
    await scheduler.sweep();
    sandbox.clearFaults();
    await database.query(
      'UPDATE connections SET next_attempt_at = now() WHERE id = ANY($1)',
      [[alpha.id, beta.id]],
    );
    await scheduler.sweep();

    // Imports: plain tokens (one revoked, lines whose token-looking values must not come back),
    // then Fernet rows under an old key that itself carries the marker, and a bad old key.
    const importing = [0, 1, 2].map((index) =>
      sandbox.issueTokens(`Canary import ${index}`),
    );
    sandbox.revokeRefreshToken(importing[2].refresh_token);
    const plainImport = await asAdmin('import', 'POST', '/connections/import', {
      format: 'csv',
      content: [
        'refresh_token,region,label',
        `${importing[0].refresh_token},na,Canary imported`,
        `${importing[2].refresh_token},na,Revoked`,
        `Atzr|IwEB${MARKER}bad,mars,Unknown region`,
        `Atzr|IwEB${MARKER} space,na,Spaced`,
        `${importing[0].refresh_token},eu,Duplicate`,
      ].join('\n'),
    });
    expect(plainImport.json()).toMatchObject({
      imported: 1,
      failed: 4,
    });
    // urlsafe base64 of 32 bytes that begins with the marker: a valid Fernet key.
    const oldKey = `${MARKER}${'k'.repeat(42 - MARKER.length)}A=`;
    const fernetImport = await asAdmin(
      'import with fromKey',
      'POST',
      '/connections/import',
      {
        format: 'json',
        fromKey: oldKey,
        content: JSON.stringify([
          {
            refreshToken: new Fernet(oldKey).encrypt(
              importing[1].refresh_token,
            ),
            region: 'eu',
          },
          { refreshToken: `gAAAAA${MARKER}`, region: 'eu' },
        ]),
      },
    );
    expect(fernetImport.json()).toMatchObject({ imported: 1, failed: 1 });
    expect(
      (
        await asAdmin(
          'import with a bad fromKey',
          'POST',
          '/connections/import',
          {
            format: 'csv',
            fromKey: `not-a-key-${MARKER}`,
            content: `refresh_token,region\nx,na`,
          },
        )
      ).statusCode,
    ).toBe(400);

    // Rename, disconnect, log out and in again, and read every console page.
    await asAdmin('rename', 'PATCH', `/connections/${alpha.id}`, {
      label: 'Canary Alpha (renamed)',
    });
    await asAdmin('disconnect', 'DELETE', `/connections/${gamma.id}`);
    await asAdmin('logout', 'DELETE', '/session');
    await asAdmin('after logout', 'GET', '/connections');
    await logIn(ADMIN_PASSWORD);
    let listCursor = '';
    for (let page = 0; page < 20; page += 1) {
      const list = (
        await asAdmin('list', 'GET', `/connections?limit=50${listCursor}`)
      ).json() as { items: { id: string }[]; nextCursor: string | null };
      for (const connection of list.items)
        await asAdmin('connection', 'GET', `/connections/${connection.id}`);
      if (!list.nextCursor) break;
      listCursor = `&cursor=${list.nextCursor}`;
    }
    let cursor = '';
    for (let page = 0; page < 20; page += 1) {
      const audit = (
        await asAdmin('audit', 'GET', `/audit-events?limit=50${cursor}`)
      ).json();
      if (!audit.nextCursor) break;
      cursor = `&before=${audit.nextCursor}`;
    }
    for (const url of [
      '/system',
      '/session',
      '/audit-events?type=login_failed',
      '/audit-events?type=needs_reauth',
    ])
      await asAdmin('page', 'GET', url);
    for (const url of [
      '/health',
      '/health/ready',
      '/health/live',
      '/metrics',
      '/api/docs-json',
    ])
      await call('operations', { method: 'GET', url });

    await sut.get(AlertService).whenIdle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    stopEvents();
    await eventsDone;

    // The session did what it claims (so the searches below search something).
    const dump = await tableDump();
    const logs = output.text();
    const tokenAnswers = recorded.filter(
      (entry) => entry.what.startsWith('access token') && entry.status === 200,
    );
    // The jobs' key got tokens (a connection needing consent answers 409 instead, never its token).
    expect(tokenAnswers.length).toBeGreaterThanOrEqual(2);
    for (const answer of tokenAnswers) expect(answer.body).toContain(MARKER);
    expect(sandbox.requests({ endpoint: 'token' }).length).toBeGreaterThan(30);
    const auditTypes = [
      'imported',
      'service_key_created',
      'service_key_revoked',
      'link_created',
      'link_opened',
      'link_revoked',
      'connected',
      'refresh_failed',
      'needs_reauth',
      'manual_refresh',
      'disconnected',
      'login_failed',
      'renamed',
      'logout',
    ];
    expect(auditTypes.filter((type) => !dump.includes(`"${type}"`))).toEqual(
      [],
    );
    // Debug lines (the LWA client's per-request lines) and the callback's request line were captured.
    expect([
      /"level":20,/.test(logs),
      logs.includes('auth/amazon/callback?code=[Redacted]'),
      logs.includes('/api/v1/connect/[Redacted]'),
    ]).toEqual([true, true, true]);
    expect(eventsText.includes('audit.appended')).toBe(true);
    expect(webhooks.bodies.length).toBeGreaterThan(0);
    expect(
      recorded.filter((entry) => entry.status >= 400).length,
    ).toBeGreaterThan(10);

    // Only the jobs' endpoint hands out an access token (the OpenAPI example "Atza|IwEBI…" is not one).
    const accessTokenShape = /Atza\|IwEB[\w-]{30,}/;
    const withToken = recorded
      .filter((entry) => accessTokenShape.test(`${entry.headers}${entry.body}`))
      .map((entry) => entry.what);
    expect(withToken.sort()).toEqual(
      tokenAnswers.map((entry) => entry.what).sort(),
    );

    // And the marker is nowhere else.
    const haystacks: [string, string][] = [
      ['log lines', logs],
      ['table rows', dump],
      ['server-sent events', eventsText],
      ['alert webhooks', webhooks.bodies.join('\n')],
      ...recorded
        .filter((entry) => !tokenAnswers.includes(entry))
        .map((entry): [string, string] => [
          `${entry.status >= 400 ? 'error' : 'response'} of ${entry.what} (${entry.status})`,
          `${entry.headers}\n${entry.body}`,
        ]),
    ];
    const jobKeys = [storedKey, limitedKey];
    const secrets = [MARKER, FERNET_KEY, ...states, ...jobKeys, ...linkSecrets];
    const leaks = haystacks.flatMap(([where, text]) =>
      secrets.flatMap((secret) =>
        // A state belongs in the consent URL the start answer sends the browser to, nowhere
        // else; a job's key in the answer that made it, nowhere else.
        (where.includes(': start') && states.includes(secret)) ||
        (where.includes('service key create') && jobKeys.includes(secret)) ||
        (where.includes('connect link create') && linkSecrets.includes(secret))
          ? []
          : occurrences(text, secret).map((found) => `${where}: …${found}…`),
      ),
    );
    // The create answers did carry the keys (so the search above searched for something).
    expect(jobKeys.every((key) => /^atk_[\w-]{43}$/.test(key))).toBe(true);
    expect(leaks).toEqual([]);
  }, 120_000);
});

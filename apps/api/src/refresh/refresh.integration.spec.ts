import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import { logIn, sandboxEnvironment } from '../../test/connect-flow';
import { DatabaseSwitch, viaPort } from '../../test/database-switch';
import {
  createTestDatabase,
  TestDatabase,
  testDatabaseUrl,
} from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { startWebhookSink } from '../../test/security/security-harness';
import { AlertService } from '../alerts/alert.service';
import { DatabaseService } from '../database/database.service';
import { AccessTokenService } from '../access-tokens/access-token.service';
import { RefreshService } from './refresh.service';
import { ConnectionEntity } from '../connections/connection.entity';
import { AmazonOutage } from './amazon-outage';
import { RefreshPause } from './refresh-pause';
import { RefreshScheduler } from './refresh.scheduler';
import { SchedulerRegistry } from '@nestjs/schedule';

const SERVICE_KEY = 'svc-key-for-reporting-jobs-0001';
const FERNET_KEY = Fernet.generateKey();

describe('token refresh (against the LWA sandbox)', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let replicas: NestFastifyApplication[];
  let sut: NestFastifyApplication;

  const environment = () => ({
    ...sandboxEnvironment(sandbox),
    FERNET_KEYS: FERNET_KEY,
    SERVICE_API_KEYS: SERVICE_KEY,
    // Sweeps run when a test says so, not on the clock.
    REFRESH_CRON: '0 0 0 1 1 *',
    REFRESH_MAX_RETRIES: '2',
  });
  const tokenRequests = () => sandbox.requests({ endpoint: 'token' });
  const sweep = (app = sut) => app.get(RefreshScheduler).sweep();

  /** Connections whose tokens the sandbox really issued, expiring in `expiresInSeconds`. */
  /** Gives back leases a test's claim took, so later tests find the rows free. */
  async function releaseLeases(ids: string[]): Promise<void> {
    await database.query(
      'UPDATE connections SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ANY($1)',
      [ids],
    );
  }

  async function seedConnections(
    count: number,
    expiresInSeconds: number,
    label = 'Seeded',
  ): Promise<ConnectionEntity[]> {
    const repository = sut.get(DatabaseService).repository(ConnectionEntity);
    const seeded: ConnectionEntity[] = [];
    for (let index = 0; index < count; index += 1) {
      const tokens = sandbox.issueTokens(`${label} ${index} ${Math.random()}`);
      seeded.push(
        await repository.save(
          repository.create({
            label: `${label} ${index}`,
            region: 'na',
            status: 'active',
            accessToken: tokens.access_token,
            refreshToken: tokens.refresh_token,
            accessTokenExpiresAt: new Date(
              Date.now() + expiresInSeconds * 1000,
            ),
            amazonAccountIds: [tokens.accountId],
            profiles: [],
          }),
        ),
      );
    }
    return seeded;
  }

  async function row(id: string): Promise<ConnectionEntity> {
    return sut
      .get(DatabaseService)
      .repository(ConnectionEntity)
      .findOneByOrFail({ id });
  }

  async function auditTypes(id: string): Promise<string[]> {
    const rows = await database.query<{ type: string }>(
      'SELECT type FROM audit_events WHERE connection_id = $1 ORDER BY id',
      [id],
    );
    return rows.map((event) => event.type);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    replicas = [];
    for (let index = 0; index < 3; index += 1)
      replicas.push(await startTestApp(database, environment()));
    sut = replicas[0];
  });

  afterAll(async () => {
    for (const app of replicas ?? []) await app.close();
    await sandbox?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    for (const replica of replicas) {
      replica.get(RefreshPause).resume();
      // Failures of earlier tests would read as an Amazon outage (two connections failing).
      replica.get(AmazonOutage).clear();
    }
    sandbox.clearFaults();
    sandbox.updateSettings({
      rotateRefreshTokens: false,
      accessTokenLifetimeSeconds: 3600,
    });
    // Each test starts with no live connection left by another.
    await database.query(
      "UPDATE connections SET status = 'disconnected' WHERE status <> 'disconnected'",
    );
    sandbox.clearRequests();
  });

  it('refreshes every connection that expires within the window, and only those', async () => {
    const [due] = await seedConnections(1, 120, 'Due');
    const [later] = await seedConnections(1, 3000, 'Later');

    const summary = await sweep();

    expect(summary).toMatchObject({ claimed: 1, refreshed: 1, failed: 0 });
    expect(tokenRequests()).toHaveLength(1);
    const refreshed = await row(due.id);
    expect(refreshed.accessToken).not.toBe(due.accessToken);
    expect(refreshed.accessTokenExpiresAt?.getTime()).toBeGreaterThan(
      Date.now() + 3500 * 1000,
    );
    expect(refreshed).toMatchObject({
      status: 'active',
      failureCount: 0,
      leaseOwner: null,
      refreshToken: due.refreshToken,
    });
    expect((await row(later.id)).accessToken).toBe(later.accessToken);
    expect(await auditTypes(due.id)).toEqual(['refreshed']);
  });

  it.each([
    ['500', 3],
    ['503', 3],
    ['reset', 3],
    ['malformed_json', 3],
  ] as const)(
    'retries a transient failure (%s) %i times in one attempt, then marks the connection degraded',
    async (kind, requests) => {
      const [connection] = await seedConnections(1, 60, `Transient ${kind}`);
      sandbox.queueFault({ endpoint: 'token', kind, count: 10 });

      const summary = await sweep();

      expect(summary).toMatchObject({ claimed: 1, failed: 1 });
      expect(tokenRequests()).toHaveLength(requests);
      const degraded = await row(connection.id);
      expect(degraded).toMatchObject({
        status: 'degraded',
        failureCount: 1,
        leaseOwner: null,
      });
      expect(degraded.lastError).toEqual(expect.any(String));
      expect(degraded.nextAttemptAt?.getTime()).toBeGreaterThan(
        Date.now() + 20_000,
      );
      expect(await auditTypes(connection.id)).toEqual(['refresh_failed']);

      sandbox.clearRequests();
      expect((await sweep()).claimed).toBe(0);
      expect(tokenRequests()).toHaveLength(0);
    },
  );

  it('retries a timeout (no answer within AMAZON_TIMEOUT_MS) like any transient failure', async () => {
    const impatient = await startTestApp(database, {
      ...environment(),
      AMAZON_TIMEOUT_MS: '300',
    });
    try {
      const [connection] = await seedConnections(1, 60, 'Timeout');
      sandbox.queueFault({
        endpoint: 'token',
        kind: 'timeout',
        ms: 450,
        count: 3,
      });

      await sweep(impatient);
      // The sandbox logs a held request when it finally drops it.
      await new Promise((resolve) => setTimeout(resolve, 500));

      expect(tokenRequests()).toHaveLength(3);
      expect(await row(connection.id)).toMatchObject({
        status: 'degraded',
        failureCount: 1,
      });
      expect((await row(connection.id)).lastError).toBe(
        'Amazon did not answer within 300 ms.',
      );
    } finally {
      await impatient.close();
    }
  });

  it('never calls again sooner than Retry-After, and never calls a 429 outage needs_reauth', async () => {
    const [connection] = await seedConnections(1, 60, 'Rate limited');
    sandbox.queueFault({
      endpoint: 'token',
      kind: '429',
      retryAfter: 1,
      count: 2,
    });

    await sweep();

    const requests = tokenRequests();
    expect(requests).toHaveLength(3);
    for (let index = 1; index < requests.length; index += 1) {
      expect(
        Date.parse(requests[index].receivedAt) -
          Date.parse(requests[index - 1].receivedAt),
      ).toBeGreaterThanOrEqual(990);
    }
    expect(await row(connection.id)).toMatchObject({
      status: 'active',
      failureCount: 0,
    });
  });

  it('marks needs_reauth at once on invalid_grant, with one request and no retry', async () => {
    const [connection] = await seedConnections(1, 60, 'Revoked');
    sandbox.revokeRefreshToken(connection.refreshToken as string);

    await sweep();

    expect(tokenRequests()).toHaveLength(1);
    expect(await row(connection.id)).toMatchObject({
      status: 'needs_reauth',
      failureCount: 1,
      nextAttemptAt: null,
    });
    expect(await auditTypes(connection.id)).toEqual(['needs_reauth']);
    sandbox.clearRequests();
    await sweep();
    expect(tokenRequests()).toHaveLength(0);
  });

  it('pauses every refresh and marks no connection when Amazon rejects our client credentials', async () => {
    const seeded = await seedConnections(3, 60, 'Client error');
    sandbox.queueFault({
      endpoint: 'token',
      kind: 'invalid_client',
      count: 10,
    });

    await sweep();
    await sweep();

    expect(tokenRequests()).toHaveLength(1);
    for (const connection of seeded)
      expect((await row(connection.id)).status).toBe('active');
    const ready = await sut.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(JSON.stringify(ready.json())).toContain('AMAZON_CLIENT_ID');
  });

  it('makes no token request for jobs while refreshes are paused: the stored token while valid, then 503', async () => {
    const [connection] = await seedConnections(1, 60, 'Paused for jobs');
    sandbox.queueFault({
      endpoint: 'token',
      kind: 'invalid_client',
      count: 10,
    });
    await sweep();
    expect(tokenRequests()).toHaveLength(1);

    const ask = () =>
      sut.inject({
        method: 'GET',
        url: `/api/v1/connections/${connection.id}/access-token`,
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      });
    for (let index = 0; index < 50; index += 1) {
      const answer = await ask();
      expect(answer.statusCode).toBe(200);
      expect(answer.json().accessToken).toBe(connection.accessToken);
    }
    await database.query(
      "UPDATE connections SET access_token_expires_at = now() - interval '1 second' WHERE id = $1",
      [connection.id],
    );
    const expired = await ask();
    expect(expired.statusCode).toBe(503);
    expect(expired.json().message).toContain('AMAZON_CLIENT_ID');
    expect(tokenRequests()).toHaveLength(1);
  });

  it('sends refresh_paused once when Amazon rejects our client credentials, and refresh_resumed once when it accepts them again', async () => {
    const sink = await startWebhookSink();
    const alerting = await startTestApp(database, {
      ...environment(),
      ALERT_WEBHOOK_URL: sink.url,
      ALERT_WEBHOOK_SECRET: 'whsec-refresh-pause-test',
    });
    try {
      const seeded = await seedConnections(3, 60, 'Paused alert');
      sandbox.queueFault({
        endpoint: 'token',
        kind: 'invalid_client',
        count: 3,
      });
      const askToken = (id: string) =>
        alerting.inject({
          method: 'GET',
          url: `/api/v1/connections/${id}/access-token`,
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
        });

      await sweep(alerting);
      await sweep(alerting);
      // Jobs asking meanwhile get the stored token and make no request: no second alert.
      expect((await askToken(seeded[1].id)).statusCode).toBe(200);
      expect((await askToken(seeded[2].id)).statusCode).toBe(200);
      expect(tokenRequests()).toHaveLength(1);
      sandbox.clearFaults();
      // Amazon accepts us again: the first success resumes (here an admin's "Refresh now"; the
      // sweep's probe five minutes on alike).
      const resumed = await alerting
        .get(RefreshService)
        .refreshNow(seeded[1].id, 'manual', 'resume-test');
      expect(resumed.kind).toBe('refreshed');
      await alerting.get(AlertService).whenIdle();

      const deliveries = sink.bodies.map((body) => {
        const [headers, json] = body.split('\n');
        return {
          event: JSON.parse(headers)['x-keeper-event'],
          payload: JSON.parse(json),
        };
      });
      expect(deliveries.map((delivery) => delivery.event)).toEqual([
        'refresh_paused',
        'refresh_resumed',
      ]);
      expect(deliveries[0].payload).toMatchObject({
        type: 'refresh_paused',
        connectionId: null,
      });
      expect(deliveries[0].payload.message).toContain('AMAZON_CLIENT_ID');
      expect(deliveries[1].payload).toMatchObject({
        type: 'refresh_resumed',
        connectionId: null,
      });
      expect(alerting.get(RefreshPause).reason).toBeUndefined();
    } finally {
      await alerting.close();
      await sink.close();
    }
  });

  it('brings a degraded connection back to active, audited as recovered', async () => {
    const [connection] = await seedConnections(1, 60, 'Recovering');
    sandbox.queueFault({ endpoint: 'token', kind: '500', count: 3 });
    await sweep();
    await database.query(
      'UPDATE connections SET next_attempt_at = now() WHERE id = $1',
      [connection.id],
    );

    await sweep();

    expect(await row(connection.id)).toMatchObject({
      status: 'active',
      failureCount: 0,
      lastError: null,
    });
    expect(await auditTypes(connection.id)).toEqual([
      'refresh_failed',
      'refreshed',
      'recovered',
    ]);
  });

  it('refreshes each token exactly once when three replicas sweep at once, and never reuses a rotated refresh token', async () => {
    sandbox.updateSettings({ rotateRefreshTokens: true });
    const seeded = await seedConnections(36, 90, 'Replicated');

    const summaries = await Promise.all(
      replicas.map((replica) => sweep(replica)),
    );

    expect(
      summaries.reduce((total, summary) => total + summary.refreshed, 0),
    ).toBe(36);
    expect(tokenRequests()).toHaveLength(36);
    expect(
      new Set(tokenRequests().map((request) => request.credential)).size,
    ).toBe(36);
    for (const connection of seeded) {
      const current = await row(connection.id);
      expect(current.status).toBe('active');
      expect(current.refreshToken).not.toBe(connection.refreshToken);
    }
    // The new refresh tokens work: the next cycle (an hour on, as it were) refreshes them all
    // again without a refusal.
    await database.query(
      "UPDATE connections SET access_token_expires_at = now() + interval '1 minute', last_refreshed_at = now() - interval '1 hour' WHERE label LIKE 'Replicated%'",
    );
    sandbox.clearRequests();
    await Promise.all(replicas.map((replica) => sweep(replica)));
    expect(tokenRequests()).toHaveLength(36);
    expect(
      tokenRequests().every(
        (request) => request.outcome === 'ok' || request.outcome === undefined,
      ),
    ).toBe(true);
    for (const connection of seeded)
      expect((await row(connection.id)).status).toBe('active');
  });

  describe("when Amazon's tokens live shorter than REFRESH_WINDOW_SECONDS (every token always due)", () => {
    /** A replica sweeping every 10 s (its cron stopped: this test sweeps), so a sweep's deadline is 9 s. */
    async function tenSecondReplica(): Promise<NestFastifyApplication> {
      const replica = await startTestApp(database, {
        ...environment(),
        REFRESH_CRON: '*/10 * * * * *',
      });
      replica.get(SchedulerRegistry).deleteCronJob(RefreshScheduler.JOB_NAME);
      return replica;
    }
    /** Moves a connection's last refresh and expiry `seconds` into the past, as if that much time passed. */
    const age = (label: string, seconds: number) =>
      database.query(
        `UPDATE connections SET last_refreshed_at = last_refreshed_at - make_interval(secs => $2),
           access_token_expires_at = access_token_expires_at - make_interval(secs => $2) WHERE label LIKE $1`,
        [`${label}%`, seconds],
      );

    it("refreshes each connection once per sweep, then not again until half its token's lifetime has passed", async () => {
      const replica = await tenSecondReplica();
      try {
        sandbox.updateSettings({ accessTokenLifetimeSeconds: 200 });
        const seeded = await seedConnections(20, 60, 'Short-lived');

        const first = await sweep(replica);
        const firstRequests = tokenRequests().length;
        sandbox.clearRequests();
        const second = await sweep(replica);
        const secondRequests = tokenRequests().length;
        // 90 s later: 110 s of 200 left, not yet due (due with 100 s left).
        await age('Short-lived', 90);
        await sweep(replica);
        const laterRequests = tokenRequests().length;
        // 15 s more: 95 s left, due again; refreshed once more, each.
        await age('Short-lived', 15);
        sandbox.clearRequests();
        const third = await sweep(replica);

        expect({
          first: firstRequests,
          second: secondRequests,
          later: laterRequests,
          third: tokenRequests().length,
        }).toEqual({
          first: 20,
          second: 0,
          later: 0,
          third: 20,
        });
        expect(first).toMatchObject({ claimed: 20, refreshed: 20 });
        expect(second.claimed).toBe(0);
        expect(third).toMatchObject({ claimed: 20, refreshed: 20 });
        for (const connection of seeded)
          expect(await auditTypes(connection.id)).toEqual([
            'refreshed',
            'refreshed',
          ]);
      } finally {
        await replica.close();
      }
    });

    it('makes one token request for 50 access-token calls one after another', async () => {
      sandbox.updateSettings({ accessTokenLifetimeSeconds: 200 });
      const [connection] = await seedConnections(1, 60, 'Sequential');

      const tokens = new Set<string>();
      for (let call = 0; call < 50; call += 1) {
        const response = await sut.inject({
          method: 'GET',
          url: `/api/v1/connections/${connection.id}/access-token`,
          headers: { authorization: `Bearer ${SERVICE_KEY}` },
        });
        expect(response.statusCode).toBe(200);
        tokens.add(response.json().accessToken);
      }

      expect(tokenRequests()).toHaveLength(1);
      expect(tokens.size).toBe(1);
      expect([...tokens][0]).not.toBe(connection.accessToken);
    });
  });

  it('claims past the rows a sweep has attempted already, so due rows behind them are reached', async () => {
    const [tried, behind] = await seedConnections(2, 60, 'Claim exclusion');

    const claimed = await sut.get(RefreshService).claimDue(10, [tried.id]);

    expect(claimed).toEqual([behind.id]);
    await releaseLeases([behind.id]);
  });

  it('claims no row refreshed since the sweep began, even one whose minimum interval has passed (a sweep longer than a minute)', async () => {
    const [again, behind] = await seedConnections(2, 60, 'Claim since');
    await database.query(
      "UPDATE connections SET last_refreshed_at = now() - interval '90 seconds' WHERE id = $1",
      [again.id],
    );
    await database.query(
      "UPDATE connections SET last_refreshed_at = now() - interval '1 hour' WHERE id = $1",
      [behind.id],
    );
    const sweepBegan = new Date(Date.now() - 120_000);

    const claimed = await sut.get(RefreshService).claimDue(10, [], sweepBegan);

    expect(claimed).toEqual([behind.id]);
    await releaseLeases([behind.id]);
    // Without the sweep's start both are due.
    const both = await sut.get(RefreshService).claimDue(10);
    expect(both.sort()).toEqual([again.id, behind.id].sort());
    await releaseLeases(both);
  });

  it('picks up a connection whose lease a crashed replica left behind, once the lease expires', async () => {
    const [held, abandoned] = await seedConnections(2, 60, 'Leased');
    await database.query(
      "UPDATE connections SET lease_owner = 'crashed', lease_expires_at = now() + interval '1 minute' WHERE id = $1",
      [held.id],
    );
    await database.query(
      "UPDATE connections SET lease_owner = 'crashed', lease_expires_at = now() - interval '1 second' WHERE id = $1",
      [abandoned.id],
    );

    const summary = await sweep();

    expect(summary.refreshed).toBe(1);
    expect((await row(abandoned.id)).accessToken).not.toBe(
      abandoned.accessToken,
    );
    expect((await row(held.id)).accessToken).toBe(held.accessToken);
  });

  it('changes nothing when the commit fails after Amazon answered, and retries at the next sweep', async () => {
    const [connection] = await seedConnections(1, 60, 'Commit fails');
    await database.query(`
      CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit unavailable'; END $$ LANGUAGE plpgsql;
      CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit();`);
    try {
      await sweep();
    } finally {
      await database.query(
        'DROP TRIGGER refuse_audit ON audit_events; DROP FUNCTION refuse_audit();',
      );
    }

    const unchanged = await row(connection.id);
    expect(tokenRequests()).toHaveLength(1);
    expect(unchanged).toMatchObject({
      accessToken: connection.accessToken,
      refreshToken: connection.refreshToken,
      status: 'active',
    });
    expect(unchanged.leaseOwner).not.toBeNull();
    expect(await auditTypes(connection.id)).toEqual([]);

    // The replica lives on: its next sweep gives the lease back and refreshes again, once (a
    // replica that died holding a lease is the test above, and apps/api/faults/).
    expect((await sweep()).refreshed).toBe(1);

    expect(await row(connection.id)).toMatchObject({
      status: 'active',
      leaseOwner: null,
    });
    expect((await row(connection.id)).accessToken).not.toBe(
      connection.accessToken,
    );
    expect(await auditTypes(connection.id)).toEqual(['refreshed']);
  });

  it('loses no token when the database goes away mid-sweep, and refreshes everything once it is back', async () => {
    const real = new URL(testDatabaseUrl());
    const databaseSwitch = await DatabaseSwitch.onFreePort({
      host: real.hostname,
      port: Number(real.port || 5432),
    });
    await databaseSwitch.open();
    const replica = await startTestApp(
      {
        url: viaPort(testDatabaseUrl(), databaseSwitch.port),
        schema: database.schema,
      },
      environment(),
    );
    try {
      const seeded = await seedConnections(6, 60, 'Database away');
      sandbox.queueFault({
        endpoint: 'token',
        kind: 'slow',
        ms: 400,
        count: 6,
      });
      const sweeping = sweep(replica);
      await new Promise((resolve) => setTimeout(resolve, 150));
      await databaseSwitch.close();
      await sweeping;

      for (const connection of seeded) {
        expect((await row(connection.id)).refreshToken).toBe(
          connection.refreshToken,
        );
      }
      await databaseSwitch.open();
      await database.query(
        "UPDATE connections SET lease_expires_at = now() - interval '1 second' WHERE label LIKE 'Database away%'",
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await sweep(replica);

      for (const connection of seeded) {
        const current = await row(connection.id);
        expect(current.status).toBe('active');
        expect(current.accessToken).not.toBe(connection.accessToken);
      }
    } finally {
      await replica.close();
      await databaseSwitch.close();
    }
  });

  describe('GET /connections/:id/access-token', () => {
    const ask = (app: NestFastifyApplication, id: string, key = SERVICE_KEY) =>
      app.inject({
        method: 'GET',
        url: `/api/v1/connections/${id}/access-token`,
        headers: { authorization: `Bearer ${key}` },
      });

    it('answers a fresh token without calling Amazon', async () => {
      const [connection] = await seedConnections(1, 3000, 'Fresh');

      const response = await ask(sut, connection.id);

      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.json()).toEqual({
        accessToken: connection.accessToken,
        tokenType: 'bearer',
        expiresAt: connection.accessTokenExpiresAt?.toISOString(),
      });
      expect(tokenRequests()).toHaveLength(0);
    });

    it('never hands out the token of a disconnected connection, and says so for an unknown one', async () => {
      const [connection] = await seedConnections(1, 3000, 'Gone');
      await sut
        .get(DatabaseService)
        .repository(ConnectionEntity)
        .update({ id: connection.id }, { status: 'disconnected' });

      const disconnected = await ask(sut, connection.id);
      const unknown = await ask(sut, '00000000-0000-4000-8000-000000000000');

      expect(disconnected.statusCode).toBe(409);
      expect(disconnected.body).not.toContain(connection.accessToken);
      expect(unknown.statusCode).toBe(404);
      expect(tokenRequests()).toHaveLength(0);
    });

    it("gives each of many simultaneous callers its own connection's answer (their reads share one statement)", async () => {
      const [first, second, gone] = await seedConnections(3, 3000, 'Batched');
      await sut
        .get(DatabaseService)
        .repository(ConnectionEntity)
        .update({ id: gone.id }, { status: 'disconnected' });
      const asked = [
        first.id,
        second.id,
        gone.id,
        '00000000-0000-4000-8000-000000000000',
        second.id.toUpperCase(),
        first.id,
      ];

      const responses = await Promise.all(asked.map((id) => ask(sut, id)));

      expect(responses.map((response) => response.statusCode)).toEqual([
        200, 200, 409, 404, 200, 200,
      ]);
      expect(
        responses.map((response) =>
          response.statusCode === 200 ? response.json().accessToken : null,
        ),
      ).toEqual([
        first.accessToken,
        second.accessToken,
        null,
        null,
        second.accessToken,
        first.accessToken,
      ]);
      expect(tokenRequests()).toHaveLength(0);
    });

    it('refreshes an expiring token first, once for many callers on several replicas', async () => {
      const [connection] = await seedConnections(1, 60, 'Shared');

      const responses = await Promise.all(
        Array.from({ length: 30 }, (_, index) =>
          ask(replicas[index % 3], connection.id),
        ),
      );

      expect(responses.map((response) => response.statusCode)).toEqual(
        Array(30).fill(200),
      );
      expect(
        new Set(responses.map((response) => response.json().accessToken)).size,
      ).toBe(1);
      expect(responses[0].json().accessToken).not.toBe(connection.accessToken);
      expect(tokenRequests()).toHaveLength(1);
    });

    it('hands every caller on several replicas the new token while a slow refresh holds the lease', async () => {
      const [connection] = await seedConnections(1, 60, 'Shared slow');
      sandbox.queueFault({
        endpoint: 'token',
        kind: 'slow',
        ms: 400,
        count: 1,
      });

      const responses = await Promise.all(
        Array.from({ length: 30 }, (_, index) =>
          ask(replicas[index % 3], connection.id),
        ),
      );

      expect(responses.map((response) => response.statusCode)).toEqual(
        Array(30).fill(200),
      );
      const stored = await row(connection.id);
      expect(
        new Set(responses.map((response) => response.json().accessToken)),
      ).toEqual(new Set([stored.accessToken]));
      expect(stored.accessToken).not.toBe(connection.accessToken);
      expect(tokenRequests()).toHaveLength(1);
    });

    it('answers a caller that saw the old token with the one another replica just stored, without a second request', async () => {
      const [connection] = await seedConnections(1, 60, 'Second comer');
      const stored = (await ask(sut, connection.id)).json()
        .accessToken as string;

      // Replica 1's caller read the row before replica 0's refresh; its refresh comes second.
      const outcome = await replicas[1]
        .get(RefreshService)
        .refreshNow(connection.id, 'on_demand', 'second-comer');

      expect(outcome).toMatchObject({
        kind: 'current',
        connection: { accessToken: stored },
      });
      expect(stored).not.toBe(connection.accessToken);
      expect(tokenRequests()).toHaveLength(1);
    });

    it('refreshes despite the minimum interval only for a caller whose token Amazon refused (401), once', async () => {
      const [connection] = await seedConnections(1, 60, 'Unauthorized');
      const first = (await ask(sut, connection.id)).json()
        .accessToken as string;
      const service = sut.get(AccessTokenService);

      // The token was refreshed a moment ago: asking again makes no request, a 401 one.
      expect((await ask(sut, connection.id)).json().accessToken).toBe(first);
      const afterRefusal = await Promise.all(
        replicas.map((replica) =>
          replica
            .get(AccessTokenService)
            .accessTokenAfterUnauthorized(connection.id, first, 'test-401'),
        ),
      );
      // A caller still holding the refused token, once it has been replaced: the new one, no request.
      const late = await service.accessTokenAfterUnauthorized(
        connection.id,
        first,
        'test-401-late',
      );

      expect(
        new Set(afterRefusal.map((answer) => answer.accessToken)).size,
      ).toBe(1);
      expect(afterRefusal[0].accessToken).not.toBe(first);
      expect(late.accessToken).toBe(afterRefusal[0].accessToken);
      expect(tokenRequests()).toHaveLength(2);
    });

    it("obeys a degraded connection's backoff: callers during an outage make no token request until it has passed", async () => {
      const [connection] = await seedConnections(1, 60, 'Backing off');
      sandbox.queueFault({ endpoint: 'token', kind: '500', count: 3 });
      await sweep();
      expect(tokenRequests()).toHaveLength(3);
      expect((await row(connection.id)).status).toBe('degraded');

      // Ten jobs, one after another, on two replicas, while the 30 s backoff runs.
      const answers = [];
      for (let index = 0; index < 10; index += 1)
        answers.push(await ask(replicas[index % 2], connection.id));

      // The token still has a minute: better than none, and no attempt against Amazon.
      for (const answer of answers) {
        expect(answer.statusCode).toBe(200);
        expect(answer.json().accessToken).toBe(connection.accessToken);
      }
      expect(tokenRequests()).toHaveLength(3);

      // Expired and still backing off: 503 saying so, still no attempt.
      await database.query(
        "UPDATE connections SET access_token_expires_at = now() - interval '1 second' WHERE id = $1",
        [connection.id],
      );
      const expired = await ask(replicas[1], connection.id);
      expect(expired.statusCode).toBe(503);
      expect(expired.json().message).toMatch(
        /last refresh of this connection failed .* next attempt is in \d+ s/,
      );
      expect(tokenRequests()).toHaveLength(3);

      // Once the backoff has passed, the next caller refreshes it (once).
      await database.query(
        "UPDATE connections SET next_attempt_at = now() - interval '1 second' WHERE id = $1",
        [connection.id],
      );
      const after = await ask(sut, connection.id);
      expect(after.statusCode).toBe(200);
      expect(after.json().accessToken).not.toBe(connection.accessToken);
      expect(tokenRequests()).toHaveLength(4);
      expect((await row(connection.id)).status).toBe('active');
    });

    it('answers 409 at once for needs_reauth, even with a token still valid for an hour', async () => {
      const [connection] = await seedConnections(1, 3000, 'Reauth fresh');
      await database.query(
        "UPDATE connections SET status = 'needs_reauth' WHERE id = $1",
        [connection.id],
      );

      const responses = await Promise.all([
        ask(sut, connection.id),
        ask(sut, connection.id),
      ]);

      for (const response of responses) {
        expect(response.statusCode).toBe(409);
        expect(response.json()).toMatchObject({
          statusCode: 409,
          error: 'Conflict',
          correlationId: expect.any(String),
        });
        expect(response.json().message).toContain(
          'reconnect it in the console',
        );
        expect(response.body).not.toContain('Atz');
      }
      expect(tokenRequests()).toHaveLength(0);
    });

    it('answers 409, not the old token, when Amazon refuses the refresh token while a job asks', async () => {
      const [connection] = await seedConnections(1, 60, 'Reauth on demand');
      sandbox.revokeRefreshToken(connection.refreshToken as string);

      const response = await ask(sut, connection.id);
      const again = await ask(replicas[1], connection.id);

      expect([response.statusCode, again.statusCode]).toEqual([409, 409]);
      expect(response.body + again.body).not.toContain(connection.accessToken);
      expect(tokenRequests()).toHaveLength(1);
      expect((await row(connection.id)).status).toBe('needs_reauth');
    });

    it('needs a service key, not an admin session', async () => {
      const [connection] = await seedConnections(1, 3000, 'Keyed');
      const admin = await logIn(sut);

      expect(
        (await ask(sut, connection.id, 'not-a-configured-key-000000'))
          .statusCode,
      ).toBe(401);
      expect(
        (
          await sut.inject({
            method: 'GET',
            url: `/api/v1/connections/${connection.id}/access-token`,
            headers: { cookie: admin },
          })
        ).statusCode,
      ).toBe(401);
    });

    it('answers 409 for a connection that needs a new consent', async () => {
      const [connection] = await seedConnections(1, 60, 'Reauth');
      await database.query(
        "UPDATE connections SET status = 'needs_reauth' WHERE id = $1",
        [connection.id],
      );

      const response = await ask(sut, connection.id);

      expect(response.statusCode).toBe(409);
      expect(response.json().message).toContain('reconnect it in the console');
      expect(response.body).not.toContain('Atz');
    });
  });

  describe('POST /connections/:id/refresh', () => {
    it('refreshes now and answers the new expiry, audited as manual_refresh', async () => {
      const [connection] = await seedConnections(1, 3000, 'Manual');
      const cookie = await logIn(sut);

      const response = await sut.inject({
        method: 'POST',
        url: `/api/v1/connections/${connection.id}/refresh`,
        headers: { cookie },
      });

      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        connection: { id: connection.id, status: 'active' },
        durationMs: expect.any(Number),
      });
      expect(
        new Date(response.json().connection.accessTokenExpiresAt).getTime(),
      ).toBeGreaterThan(connection.accessTokenExpiresAt?.getTime() ?? 0);
      expect(response.body).not.toContain('Atz');
      expect(await auditTypes(connection.id)).toEqual(['manual_refresh']);
    });

    it('answers the typed error when Amazon refuses, and the connection then needs re-auth', async () => {
      const [connection] = await seedConnections(1, 3000, 'Manual refused');
      sandbox.revokeRefreshToken(connection.refreshToken as string);
      const cookie = await logIn(sut);

      const response = await sut.inject({
        method: 'POST',
        url: `/api/v1/connections/${connection.id}/refresh`,
        headers: { cookie },
      });

      expect(response.statusCode).toBe(409);
      expect((await row(connection.id)).status).toBe('needs_reauth');
    });
  });
});

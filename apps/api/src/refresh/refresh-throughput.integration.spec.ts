import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import {
  fingerprint,
  RunningSandbox,
  startLwaSandbox,
} from '@keeper/lwa-sandbox';
import { sandboxEnvironment } from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { ConnectionEntity } from '../connections/connection.entity';
import { DatabaseService } from '../database/database.service';
import { LwaClient } from '../amazon/lwa.client';
import { RefreshScheduler } from './refresh.scheduler';

const SERVICE_KEY = 'svc-key-for-throughput-jobs-0001';
const FERNET_KEY = Fernet.generateKey();

/**
 * REFRESH_CONCURRENCY and REFRESH_MAX_PER_SECOND against the LWA sandbox: how many token
 * requests a sweep has in flight (the sandbox counts them), and how many it sends a second.
 * Nothing here waits for a time to pass: the counts are the sandbox's, the arrival times only
 * bound the rate from above (a pacer can be slower than its cap, never faster).
 */
describe('refresh throughput (REFRESH_CONCURRENCY, REFRESH_MAX_PER_SECOND)', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let app: NestFastifyApplication | undefined;

  const start = async (variables: Record<string, string>) => {
    app = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      FERNET_KEYS: FERNET_KEY,
      SERVICE_API_KEYS: SERVICE_KEY,
      // Sweeps run when a test says so.
      REFRESH_CRON: '0 0 0 1 1 *',
      ...variables,
    });
    return app;
  };

  /** Due connections holding real sandbox grants (never refreshed by the keeper: not spread). */
  async function seed(
    target: NestFastifyApplication,
    count: number,
    label: string,
    expiresInSeconds = 60,
  ): Promise<ConnectionEntity[]> {
    const repository = target.get(DatabaseService).repository(ConnectionEntity);
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

  const tokenRequests = () => sandbox.requests({ endpoint: 'token' });
  const credentials = () => tokenRequests().map((entry) => entry.credential);

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await database.query(
      "UPDATE connections SET status = 'disconnected' WHERE status <> 'disconnected'",
    );
    sandbox.updateSettings({ tokenDelayMs: 0 });
    sandbox.clearRequests();
  });

  afterAll(async () => {
    await sandbox?.close();
    await database?.drop();
  });

  it('has up to REFRESH_CONCURRENCY token requests in flight in a sweep, and no more', async () => {
    const replica = await start({
      // More than the 32 sockets per host the LWA client once had, which capped every sweep.
      REFRESH_CONCURRENCY: '40',
      REFRESH_MAX_PER_SECOND: '1000',
    });
    await seed(replica, 81, 'Concurrent');
    // Amazon slow enough that the 40 workers' requests all arrive while the first waits.
    sandbox.updateSettings({ tokenDelayMs: 500 });

    const summary = await replica.get(RefreshScheduler).sweep();

    expect(summary).toMatchObject({ claimed: 81, refreshed: 81, failed: 0 });
    expect(sandbox.counts().peakTokenRequestsInFlight).toBe(40);
    // Each connection exactly once.
    expect(new Set(credentials()).size).toBe(81);
    expect(tokenRequests()).toHaveLength(81);
  });

  it('sends no more than REFRESH_MAX_PER_SECOND token requests a second, and a job waiting meanwhile goes before the sweep', async () => {
    const replica = await start({
      REFRESH_CONCURRENCY: '10',
      REFRESH_MAX_PER_SECOND: '10',
    });
    // When each permit of the cap was granted (the pacer's own record: arrival times at the
    // sandbox also carry the network's jitter).
    const pacer = replica.get(LwaClient).pacer;
    const granted: number[] = [];
    const take = pacer.take.bind(pacer);
    jest
      .spyOn(pacer, 'take')
      .mockImplementation((...args) =>
        take(...args).then(() => void granted.push(performance.now())),
      );
    const swept = await seed(replica, 50, 'Capped');
    // Not due when the sweep claims; due (for the job) once the sweep is under way.
    const [job] = await seed(replica, 1, 'Job', 3000);

    const sweeping = replica.get(RefreshScheduler).sweep();
    while (tokenRequests().length < 3)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await database.query(
      "UPDATE connections SET access_token_expires_at = now() - interval '1 second' WHERE id = $1",
      [job.id],
    );
    const answer = await replica.inject({
      method: 'GET',
      url: `/api/v1/connections/${job.id}/access-token`,
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    const summary = await sweeping;

    expect(answer.statusCode).toBe(200);
    expect(answer.json().accessToken).not.toBe(job.accessToken);
    expect(summary).toMatchObject({ claimed: 50, refreshed: 50 });
    // Every token request took a permit first.
    expect(tokenRequests()).toHaveLength(51);
    expect(granted).toHaveLength(51);
    // In any second from any grant on: at most the cap (plus the bucket's burst of one).
    for (const from of granted)
      expect(
        granted.filter((at) => at >= from && at < from + 1000).length,
      ).toBeLessThanOrEqual(10 + 1);
    // 51 requests at 10 a second, the first at once: at least 4.9 s from the first to the last.
    expect(Math.max(...granted) - Math.min(...granted)).toBeGreaterThanOrEqual(
      4_900,
    );
    // The job's refresh did not queue behind the sweep's backlog (47 requests, 4.7 s, when it
    // asked): interactive requests take the cap's next permit.
    const jobRequest = credentials().indexOf(
      fingerprint(job.refreshToken as string),
    );
    expect(jobRequest).toBeGreaterThanOrEqual(0);
    expect(swept.length - jobRequest).toBeGreaterThanOrEqual(20);
  });
});

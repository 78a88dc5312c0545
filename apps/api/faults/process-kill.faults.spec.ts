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

/**
 * Case 2 of issue #7: an API process killed with SIGKILL (no shutdown hook, nothing released)
 * at three points of a refresh, each on its own group of connections and its own process:
 *
 * - before the call: the rows are claimed and the request has left the process, but a switch in
 *   front of the sandbox swallows it, so Amazon never sees it;
 * - between Amazon's answer and the commit: the sandbox answers slowly, the test holds the rows'
 *   locks so each write waits, and the process dies once the sandbox has logged its answers.
 *   A refresh's write is one statement (tokens, lease and audit event), already at the
 *   database: PostgreSQL completes it when the locks go, so the answers are kept;
 * - after the commit: the process dies as soon as every row of its group is stored.
 *
 * Then two surviving replicas take over. Leases are 90 s (LEASE_MS, not configurable): the test
 * checks the survivors leave the dead process's rows alone for three cycles, then moves the dead
 * owner's `lease_expires_at` into the past (the only test-only step: standing in for the 90 s),
 * and checks every connection ends refreshed, each exactly as many times as the facts require.
 */
describe('fault suite: an API process killed mid-refresh', () => {
  let rig: Rig;
  let gate: TcpSwitch;
  let suiteStart: Date;
  const victims: ApiProcess[] = [];
  const groups: Record<'before' | 'between' | 'after', SeededConnection[]> = {
    before: [],
    between: [],
    after: [],
  };
  const env = { REFRESH_MAX_RETRIES: '2', AMAZON_TIMEOUT_MS: '5000' };

  const ids = (connections: readonly SeededConnection[]) =>
    connections.map((connection) => connection.id);

  async function leasedBy(
    victim: ApiProcess,
    connections: SeededConnection[],
  ): Promise<{
    count: number;
    minSecondsLeft: number;
    maxSecondsLeft: number;
  }> {
    const [row] = await rig.database.query<{
      count: number;
      min_left: number;
      max_left: number;
    }>(
      `SELECT count(*)::int AS count,
              min(extract(epoch FROM lease_expires_at - now()))::float AS min_left,
              max(extract(epoch FROM lease_expires_at - now()))::float AS max_left
       FROM connections WHERE id = ANY($1::uuid[]) AND lease_owner LIKE $2 AND lease_expires_at > now()`,
      [ids(connections), victim.leaseOwnerPattern],
    );
    return {
      count: row.count,
      minSecondsLeft: row.min_left,
      maxSecondsLeft: row.max_left,
    };
  }

  beforeAll(async () => {
    rig = await startRig();
    gate = await TcpSwitch.create({
      host: '127.0.0.1',
      port: rig.sandbox.port,
    });
    suiteStart = await databaseNow(rig.database);
  });

  afterAll(async () => {
    await gate?.close();
    await rig?.close();
  });

  it('before the call: the rows stay leased to the dead process, and Amazon never heard of them', async () => {
    await gate.set('hold');
    const victim = await rig.startApi({
      name: 'kill-before',
      env,
      tokenUrl: gate.url('/auth/o2/token'),
    });
    victims.push(victim);
    groups.before = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      4,
      'before',
    );
    // The sweep claims all four; the first request is on its way (held by the switch).
    await waitFor(
      'the claim and the first request',
      async () =>
        gate.heldRequests >= 1 &&
        (await leasedBy(victim, groups.before)).count === 4,
      20_000,
      20,
    );
    await victim.kill();
    const lease = await leasedBy(victim, groups.before);

    expect(victim.child.exitStatus?.signal).toBe('SIGKILL');
    expect(lease.count).toBe(4);
    // The lease is 90 s from the claim, a few seconds ago at most.
    expect(lease.maxSecondsLeft).toBeLessThanOrEqual(90);
    expect(lease.minSecondsLeft).toBeGreaterThan(80);
    expect(
      [
        ...tokenRequestsByConnection(rig.sandbox, groups.before).values(),
      ].flat(),
    ).toHaveLength(0);
  });

  it('between Amazon’s answer and the commit: the write already at the database completes, the answers are kept', async () => {
    const victim = await rig.startApi({ name: 'kill-between', env });
    victims.push(victim);
    const since = await databaseNow(rig.database);
    rig.sandbox.queueFault({
      endpoint: 'token',
      kind: 'slow',
      ms: 1_000,
      count: 4,
    });
    groups.between = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      4,
      'between',
    );
    // The sweep's first refresh (its canary) goes alone and commits; the other three then leave
    // together, and are at the sandbox for a second.
    await waitFor(
      'the canary to commit',
      async () =>
        (await countRefreshed(rig.database, ids(groups.between), since)) === 1,
      20_000,
      20,
      () => describeGroup(rig.database, rig.sandbox, groups.between),
    );

    const holder = await rig.database.pool.connect();
    let held: string[] = [];
    try {
      await holder.query('BEGIN');
      held = (
        await holder.query<{ id: string }>(
          `SELECT id FROM connections WHERE id = ANY($1::uuid[]) AND lease_owner LIKE $2 FOR UPDATE`,
          [ids(groups.between), victim.leaseOwnerPattern],
        )
      ).rows.map((row) => row.id);
      const heldConnections = groups.between.filter((connection) =>
        held.includes(connection.id),
      );
      await waitFor(
        'Amazon to answer and the commits to wait',
        async () => {
          const answered = [
            ...tokenRequestsByConnection(rig.sandbox, heldConnections).values(),
          ].filter(
            (calls) => calls.length === 1 && calls[0].status === 200,
          ).length;
          const [row] = await rig.database.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_stat_activity
             WHERE datname = $1 AND application_name = 'ads-token-keeper' AND wait_event_type = 'Lock'`,
            [rig.database.name],
          );
          return answered === held.length && row.waiting === held.length;
        },
        15_000,
        20,
      );
      await victim.kill();
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
    // The killed process's sessions go once PostgreSQL notices, after their writes (each one
    // statement, sent whole) completed when the locks were released.
    await waitFor(
      'the dead process’s sessions to end',
      async () =>
        (
          await rig.database.query<{ count: number }>(
            `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1 AND application_name = 'ads-token-keeper'`,
            [rig.database.name],
          )
        )[0].count === 0,
      10_000,
      50,
    );
    const stored = await readConnections(rig.database, [rig.fernetKey], held);

    expect(held).toHaveLength(3);
    for (const connection of groups.between.filter((each) =>
      held.includes(each.id),
    )) {
      const row = stored.get(connection.id);
      expect(row).toMatchObject({
        refreshToken: connection.refreshToken,
        status: 'active',
        leaseOwner: null,
      });
      expect(row?.accessToken).not.toBe(connection.accessToken);
    }
    expect((await leasedBy(victim, groups.between)).count).toBe(0);
  });

  it('after the commit: what was stored stays stored, and no lease is left behind', async () => {
    const victim = await rig.startApi({ name: 'kill-after', env });
    victims.push(victim);
    const since = await databaseNow(rig.database);
    groups.after = await seedConnections(
      rig.database,
      rig.sandbox,
      rig.fernetKey,
      4,
      'after',
    );
    await waitFor(
      'the group to be stored',
      async () =>
        (await countRefreshed(rig.database, ids(groups.after), since)) === 4,
      20_000,
      10,
    );
    await victim.kill();

    expect(victim.child.exitStatus?.signal).toBe('SIGKILL');
    expect((await leasedBy(victim, groups.after)).count).toBe(0);
  });

  it('two survivors leave the dead leases alone, then refresh every connection exactly as often as needed', async () => {
    const all = [...groups.before, ...groups.between, ...groups.after];
    expect(all).toHaveLength(12);
    const requestsBefore = rig.sandbox.requests({ endpoint: 'token' }).length;
    const survivors = await Promise.all([
      rig.startApi({ name: 'survivor-1', env, waitReady: true }),
      rig.startApi({ name: 'survivor-2', env, waitReady: true }),
    ]);
    // Three cycles: the leases are live, so nothing is claimed and Amazon hears nothing.
    await sleep(3 * CYCLE_MS);
    const requestsWhileLeased =
      rig.sandbox.requests({ endpoint: 'token' }).length - requestsBefore;
    const stillLeased = (
      await Promise.all(victims.map((victim) => leasedBy(victim, all)))
    ).reduce((sum, lease) => sum + lease.count, 0);

    // Standing in for the 90 s: the dead processes' leases run out now.
    const expiredAt = Date.now();
    await rig.database.query(
      `UPDATE connections SET lease_expires_at = now() - interval '1 second' WHERE lease_owner LIKE ANY($1::text[])`,
      [victims.map((victim) => victim.leaseOwnerPattern)],
    );
    await waitFor(
      'every connection refreshed',
      async () =>
        (await countRefreshed(rig.database, ids(all), suiteStart)) ===
        all.length,
      30_000,
      100,
    );
    const refreshedAfterExpiryMs = Date.now() - expiredAt;

    expect(requestsWhileLeased).toBe(0);
    expect(stillLeased).toBe(4);
    const stored = await readConnections(
      rig.database,
      [rig.fernetKey],
      ids(all),
    );
    const audits = await auditCounts(rig.database, ids(all));
    const requests = tokenRequestsByConnection(rig.sandbox, all);
    for (const connection of all) {
      const row = stored.get(connection.id);
      const calls = requests.get(connection.id) ?? [];
      expect({
        label: connection.label,
        status: row?.status,
        leaseOwner: row?.leaseOwner,
        refreshToken: row?.refreshToken === connection.refreshToken,
        newAccessToken: row?.accessToken !== connection.accessToken,
        audit: audits.get(connection.id),
        calls: calls.length,
        outcomes: [...new Set(calls.map((call) => call.outcome))],
      }).toEqual({
        label: connection.label,
        status: 'active',
        leaseOwner: null,
        refreshToken: true,
        newAccessToken: true,
        audit: { refreshed: 1 },
        calls: 1,
        outcomes: ['ok'],
      });
      expect(
        await isLiveAccessToken(rig.sandbox, row?.accessToken as string),
      ).toBe(true);
    }
    for (const survivor of survivors)
      expect(survivor.child.hasExited).toBe(false);
    report('process killed', {
      processesKilled: victims.length,
      survivors: survivors.length,
      connections: all.length,
      leasedByDeadProcesses: stillLeased,
      tokenRequestsWhileLeased: requestsWhileLeased,
      tokenRequests: [...requests.values()].reduce(
        (sum, calls) => sum + calls.length,
        0,
      ),
      answersKeptBetweenAnswerAndCommit: groups.between.length - 1,
      refreshedAfterLeaseExpiryMs: refreshedAfterExpiryMs,
    });
  });
});

import type { Database } from '../database/database';
import {
  AUDIT_PRUNE_FIRST_RUN_MS,
  AUDIT_PRUNE_INTERVAL_MS,
  AuditPruner,
  AuditPruneTuning,
} from './audit-pruner';

/** A query runner that answers the lock, the batches and the unlock from a script. */
function fakeDatabase(options: {
  lockAcquired?: boolean;
  /** Rows each DELETE reports, in order; an Error rejects that DELETE. */
  batches?: (number | Error)[];
}) {
  const batches = [...(options.batches ?? [])];
  const statements: { sql: string; params: unknown[] }[] = [];
  const release = jest.fn().mockResolvedValue(undefined);
  const query = jest.fn(async (sql: string, params: unknown[] = []) => {
    statements.push({ sql, params });
    if (sql.includes('pg_try_advisory_lock'))
      return [{ acquired: options.lockAcquired ?? true }];
    if (sql.includes('pg_advisory_unlock'))
      return [{ pg_advisory_unlock: true }];
    if (sql.trimStart().startsWith('DELETE')) {
      const next = batches.shift() ?? 0;
      if (next instanceof Error) throw next;
      return [[], next];
    }
    throw new Error(`unexpected statement ${sql}`);
  });
  const createQueryRunner = jest.fn(() => ({ query, release }));
  const database = {
    get dataSource() {
      return { createQueryRunner };
    },
  } as unknown as Database;
  const deletes = () =>
    statements.filter((statement) => statement.sql.includes('DELETE'));
  const unlocks = () =>
    statements.filter((statement) => statement.sql.includes('unlock'));
  return { database, createQueryRunner, release, deletes, unlocks };
}

function pruner(
  database: Database,
  retentionDays: number,
  tuning: Partial<AuditPruneTuning> = { batchSize: 3, pauseMs: 0 },
): AuditPruner {
  return new AuditPruner(
    database,
    { auditRetentionDays: retentionDays },
    tuning,
  );
}

describe('pruning the audit log', () => {
  let sut: AuditPruner | undefined;

  beforeEach(() => {
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'],
    });
  });

  afterEach(async () => {
    await sut?.onApplicationShutdown();
    sut = undefined;
    jest.useRealTimers();
  });

  it('deletes a batch at a time, oldest first, until a batch comes back short, then unlocks', async () => {
    const fake = fakeDatabase({ batches: [3, 3, 1] });
    sut = pruner(fake.database, 90);

    const run = sut.run();
    await jest.runAllTimersAsync();

    await expect(run).resolves.toEqual({ ran: true, deleted: 7, batches: 3 });
    expect(fake.deletes()).toHaveLength(3);
    for (const { sql, params } of fake.deletes()) {
      expect(sql).toMatch(
        /created_at < now\(\) - make_interval\(days => \$1\)/,
      );
      expect(sql).toMatch(/ORDER BY created_at\s+LIMIT \$2/);
      expect(params).toEqual([90, 3]);
    }
    expect(fake.unlocks()).toHaveLength(1);
    expect(fake.release).toHaveBeenCalledTimes(1);
  });

  it('rests between batches', async () => {
    const fake = fakeDatabase({ batches: [3, 3, 0] });
    sut = pruner(fake.database, 90, { batchSize: 3, pauseMs: 1_000 });

    const run = sut.run();
    await jest.advanceTimersByTimeAsync(0);
    expect(fake.deletes()).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(999);
    expect(fake.deletes()).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(fake.deletes()).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1_000);
    await expect(run).resolves.toEqual({ ran: true, deleted: 6, batches: 3 });
  });

  it('keeps everything when the retention is 0: no timer, no statement', async () => {
    const fake = fakeDatabase({ batches: [3] });
    sut = pruner(fake.database, 0);

    sut.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(3 * AUDIT_PRUNE_INTERVAL_MS);
    await expect(sut.run()).resolves.toEqual({
      ran: false,
      deleted: 0,
      batches: 0,
    });
    expect(fake.createQueryRunner).not.toHaveBeenCalled();
  });

  it('leaves the work to the replica that holds the lock', async () => {
    const fake = fakeDatabase({ lockAcquired: false, batches: [3] });
    sut = pruner(fake.database, 30);

    await expect(sut.run()).resolves.toEqual({
      ran: false,
      deleted: 0,
      batches: 0,
    });
    expect(fake.deletes()).toHaveLength(0);
    expect(fake.unlocks()).toHaveLength(0);
    expect(fake.release).toHaveBeenCalledTimes(1);
  });

  it('survives a failed batch: unlocks, releases its connection, and the next run carries on', async () => {
    const fake = fakeDatabase({
      batches: [3, new Error('canceling statement due to conflict'), 2],
    });
    sut = pruner(fake.database, 90);

    const run = sut.run();
    await jest.runAllTimersAsync();
    await expect(run).resolves.toEqual({
      ran: true,
      deleted: 3,
      batches: 1,
    });
    expect(fake.unlocks()).toHaveLength(1);
    expect(fake.release).toHaveBeenCalledTimes(1);

    await expect(sut.run()).resolves.toEqual({
      ran: true,
      deleted: 2,
      batches: 1,
    });
  });

  it('survives the database being away', async () => {
    const database = {
      get dataSource(): never {
        throw new Error('The database is unavailable');
      },
    } as unknown as Database;
    sut = pruner(database, 90);

    await expect(sut.run()).resolves.toEqual({
      ran: false,
      deleted: 0,
      batches: 0,
    });
  });

  it('runs shortly after start, then every 5 minutes, one run at a time', async () => {
    const fake = fakeDatabase({});
    sut = pruner(fake.database, 90);
    expect(AUDIT_PRUNE_INTERVAL_MS).toBe(5 * 60_000);

    sut.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(AUDIT_PRUNE_FIRST_RUN_MS - 1);
    expect(fake.createQueryRunner).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(fake.createQueryRunner).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(
      AUDIT_PRUNE_INTERVAL_MS - AUDIT_PRUNE_FIRST_RUN_MS,
    );
    expect(fake.createQueryRunner).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(AUDIT_PRUNE_INTERVAL_MS);
    expect(fake.createQueryRunner).toHaveBeenCalledTimes(3);

    const first = sut.run();
    expect(sut.run()).toBe(first);
    await first;
    expect(fake.createQueryRunner).toHaveBeenCalledTimes(4);
  });

  it('stops at shutdown, ending a run in progress after its current batch', async () => {
    const fake = fakeDatabase({ batches: [3, 3, 3, 3] });
    sut = pruner(fake.database, 90, { batchSize: 3, pauseMs: 60_000 });

    sut.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(AUDIT_PRUNE_FIRST_RUN_MS);
    expect(fake.deletes()).toHaveLength(1);

    await sut.onApplicationShutdown();
    expect(fake.unlocks()).toHaveLength(1);
    expect(fake.release).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(3 * AUDIT_PRUNE_INTERVAL_MS);
    expect(fake.deletes()).toHaveLength(1);
    expect(fake.createQueryRunner).toHaveBeenCalledTimes(1);
  });
});

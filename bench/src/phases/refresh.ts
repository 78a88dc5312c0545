import { Fernet, keyIdOf } from '@keeper/fernet';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiProcess } from '../lib/api-process';
import { metricValue, MetricSample } from '../lib/metrics-text';
import { RssWatcher, sampleProcess, treeCpuSeconds } from '../lib/proc-stats';
import { mean, round, sleep } from '../lib/stats';
import {
  statementDelta,
  StatementDelta,
  statementSnapshot,
} from '../lib/statement-stats';
import type { BenchContext } from './context';

const LABEL_PREFIX = 'bench-due-';
export const SWEEP_CRON = '*/5 * * * * *';

/**
 * The sweep's per-replica concurrency: `REFRESH_CONCURRENCY`, which the bench leaves unset (a
 * harness never passes its own environment's on, libs/test-support), so the API's default,
 * read from its source (it may change under us); 96 if not found.
 */
function sweepConcurrency(root: string): number {
  try {
    const source = readFileSync(
      join(root, 'apps/api/src/config/app-config.ts'),
      'utf8',
    );
    return Number(
      /DEFAULT_REFRESH_CONCURRENCY\s*=\s*(\d+)/.exec(source)?.[1] ?? 96,
    );
  } catch {
    return 96;
  }
}

/**
 * Inserts `count` connections whose access token expired a minute ago: real sandbox grants
 * (`issueTokens`, so the refreshes succeed), encrypted under the API's key with its key id, in one
 * multi-row INSERT (as apps/api/test/seed-secrets.ts does). Their profiles count as just read:
 * the sweep's daily re-read (README, "What the service does on its own") would otherwise read
 * 20 of them at every sweep, which no steady state does.
 */
export async function seedDueConnections(
  ctx: BenchContext,
  count: number,
): Promise<void> {
  const fernet = new Fernet(ctx.settings.fernetKey);
  const labels: string[] = [];
  const access: string[] = [];
  const refresh: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const tokens = ctx.sandbox.issueTokens();
    labels.push(`${LABEL_PREFIX}${index}`);
    access.push(fernet.encrypt(tokens.access_token));
    refresh.push(fernet.encrypt(tokens.refresh_token));
  }
  await ctx.db.pool.query(
    `INSERT INTO connections (label, region, status, access_token_ciphertext, refresh_token_ciphertext, key_id,
                              access_token_expires_at, last_refreshed_at, profiles_read_at)
     SELECT v.label, 'na', 'active', v.access, v.refresh, $4, now() - interval '1 minute', now() - interval '61 minutes', now()
     FROM unnest($1::text[], $2::text[], $3::text[]) AS v(label, access, refresh)`,
    [labels, access, refresh, keyIdOf(ctx.settings.fernetKey)],
  );
}

/** Makes every seeded connection due again (for the next sweep run). */
async function makeDueAgain(ctx: BenchContext): Promise<void> {
  await ctx.db.pool.query(
    `UPDATE connections SET access_token_expires_at = now() - interval '1 minute', last_refreshed_at = now() - interval '61 minutes',
            status = 'active', failure_count = 0, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL
     WHERE label LIKE '${LABEL_PREFIX}%'`,
  );
}

export interface SweepRun {
  replicas: number;
  connections: number;
  refreshed: number;
  failedOrOther: number;
  timedOut: boolean;
  /** First to last stored refresh (DB timestamps). */
  refreshSeconds: number;
  /** From the replicas answering to the last refresh (includes waiting for the first tick). */
  wallSeconds: number;
  refreshesPerSecond: number;
  /** Σ sweep busy time × concurrency / refreshed: how long one refresh held a sweep slot. */
  slotMsPerRefresh: number;
  /** The API's atk_refresh_duration_seconds mean: the LWA call as the API saw it. */
  lwaCallMeanMs: number;
  sandboxMeanMs: number;
  /** slot time minus the sandbox's own time. */
  ourMsPerRefresh: number;
  apiCpuMsPerRefresh: number;
  databaseCpuMsPerRefresh: number;
  sandboxRefreshRequests: number;
  distinctRefreshTokens: number;
  refreshedAuditEvents: number;
  exactlyOnce: boolean;
  sweeps: number;
  apiPeakRssMb: number[];
  concurrency: number;
  startSeconds: number[];
  apiErrorsLogged: number;
  /** Database statements per refresh (start-up and idle ticks included, a few dozen), most frequent ones. */
  statementsPerRefresh: number;
  statements: StatementDelta | undefined;
  /** Refresh tokens the sandbox saw more than once, and how those calls ended. */
  repeatedTokens: number;
  repeatedOutcomes: Record<string, number>;
  /** The first replica's sweep, in ms since it was spawned (for a --cpu-prof window). */
  window: { fromMs: number; toMs: number };
}

export async function sweepRun(
  ctx: BenchContext,
  replicas: number,
  deadlineMs: number,
  nodeArgs: string[] = [],
): Promise<SweepRun> {
  const total = ctx.options.refreshConnections;
  ctx.sandbox.clearRequests();
  const since = (await ctx.db.pool.query<{ now: Date }>('SELECT now() AS now'))
    .rows[0].now;
  const dbTree = ctx.db.postmasterPid;
  const dbCpuBefore = dbTree ? treeCpuSeconds(dbTree) : Number.NaN;
  const statementsBefore = await statementSnapshot(ctx.db);
  const apis = await Promise.all(
    Array.from({ length: replicas }, (_, index) =>
      ApiProcess.start(ctx.settings, {
        name: `sweep-${replicas}x-${index + 1}`,
        refreshCron: SWEEP_CRON,
        nodeArgs,
      }),
    ),
  );
  const watchers = apis.map((api) => new RssWatcher(api.pid));
  const cpuBefore = apis.map((api) => sampleProcess(api.pid));
  const ready = performance.now();
  let done = 0;
  let other = 0;
  let timedOut = false;
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const { rows } = await ctx.db.pool.query<{ done: string; other: string }>(
      `SELECT count(*) FILTER (WHERE last_refreshed_at > $1) AS done,
              count(*) FILTER (WHERE status <> 'active') AS other
       FROM connections WHERE label LIKE '${LABEL_PREFIX}%'`,
      [since],
    );
    done = Number(rows[0].done);
    other = Number(rows[0].other);
    if (done + other >= total) break;
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    for (const api of apis)
      if (api.child.hasExited)
        throw new Error(
          `${api.name} exited during the sweep:\n${api.child.output()}`,
        );
    await sleep(250);
  }
  const finished = performance.now();
  if (timedOut) {
    // Out of time: what is not claimed yet stops being due, and what is claimed finishes, so the
    // replicas are stopped idle (stopping them mid-refresh is not what this phase measures).
    await ctx.db.pool.query(
      `UPDATE connections SET access_token_expires_at = now() + interval '1 hour'
       WHERE label LIKE '${LABEL_PREFIX}%' AND last_refreshed_at <= $1 AND lease_owner IS NULL`,
      [since],
    );
    const drainUntil = Date.now() + 20_000;
    while (Date.now() < drainUntil) {
      const { rows } = await ctx.db.pool.query<{ held: string }>(
        `SELECT count(*) AS held FROM connections WHERE label LIKE '${LABEL_PREFIX}%' AND lease_owner IS NOT NULL`,
      );
      if (Number(rows[0].held) === 0) break;
      await sleep(250);
    }
  }
  const cpuAfter = apis.map((api) => sampleProcess(api.pid));
  const dbCpuAfter = dbTree ? treeCpuSeconds(dbTree) : Number.NaN;
  // Let any sweep still closing (the last batch's bookkeeping) end before reading the metrics.
  await sleep(500);
  const metrics: MetricSample[][] = await Promise.all(
    apis.map((api) => api.metrics()),
  );
  const peaks = apis.map((_, index) =>
    round(watchers[index].stop() / 1024 ** 2, 1),
  );
  const startSeconds = apis.map((api) => round(api.startSeconds, 2));
  // Stopping lets in-flight refreshes finish (and gives back unfinished leases).
  await Promise.all(apis.map((api) => api.stop()));
  const logs = apis.map((api) => api.takeLog());
  const apiErrors = logs.reduce((acc, log) => acc + log.errors, 0);
  if (apiErrors > 0) {
    ctx.report.notes.push(
      `4 refresh ${replicas}×: the API logged ${apiErrors} errors: ${[...new Set(logs.flatMap((log) => log.samples))].join(' | ')}`,
    );
  }
  const { rows: final } = await ctx.db.pool.query<{
    done: string;
    other: string;
  }>(
    `SELECT count(*) FILTER (WHERE last_refreshed_at > $1) AS done, count(*) FILTER (WHERE status <> 'active') AS other
     FROM connections WHERE label LIKE '${LABEL_PREFIX}%'`,
    [since],
  );
  done = Number(final[0].done);
  other = Number(final[0].other);
  const statements = statementDelta(
    statementsBefore,
    await statementSnapshot(ctx.db),
  );

  const { rows: times } = await ctx.db.pool.query<{
    first: Date | null;
    last: Date | null;
  }>(
    `SELECT min(last_refreshed_at) AS first, max(last_refreshed_at) AS last FROM connections
     WHERE label LIKE '${LABEL_PREFIX}%' AND last_refreshed_at > $1`,
    [since],
  );
  const { rows: audits } = await ctx.db.pool.query<{ count: string }>(
    `SELECT count(*) AS count FROM audit_events WHERE type = 'refreshed' AND created_at >= $1`,
    [since],
  );
  const refreshRequests = ctx.sandbox
    .requests({ endpoint: 'token' })
    .filter((entry) => entry.grantType === 'refresh_token');
  const sandboxOk = refreshRequests.filter((entry) => entry.status === 200);
  const byToken = new Map<string, string[]>();
  for (const entry of refreshRequests) {
    const calls = byToken.get(entry.credential ?? '') ?? [];
    calls.push(`${entry.status}:${entry.outcome}`);
    byToken.set(entry.credential ?? '', calls);
  }
  const distinct = byToken.size;
  // Tokens the sandbox saw more than once, and how those calls ended (status:outcome).
  const repeated = [...byToken.values()].filter((calls) => calls.length > 1);
  const repeatedOutcomes: Record<string, number> = {};
  for (const calls of repeated)
    for (const call of calls)
      repeatedOutcomes[call] = (repeatedOutcomes[call] ?? 0) + 1;
  if (repeated.length > 0) {
    ctx.report.notes.push(
      `4 refresh ${replicas}×: ${repeated.length} refresh tokens reached the sandbox more than once (calls by status:outcome ${JSON.stringify(repeatedOutcomes)})`,
    );
  }
  const concurrency = sweepConcurrency(ctx.root);
  const sum = (name: string, labels: Record<string, string> = {}) =>
    metrics.reduce(
      (acc, samples) => acc + (metricValue(samples, name, labels) || 0),
      0,
    );
  const busySeconds = sum('atk_refresh_sweep_duration_seconds_sum');
  const lwaSum = sum('atk_refresh_duration_seconds_sum', {
    outcome: 'refreshed',
  });
  const lwaCount = sum('atk_refresh_duration_seconds_count', {
    outcome: 'refreshed',
  });
  const refreshSeconds =
    times[0].first && times[0].last
      ? (times[0].last.getTime() - times[0].first.getTime()) / 1000
      : Number.NaN;
  const sandboxMeanMs = mean(sandboxOk.map((entry) => entry.durationMs));
  const slotMs =
    done > 0 ? (busySeconds * concurrency * 1000) / done : Number.NaN;
  const apiCpuSeconds = cpuAfter.reduce(
    (acc, after, index) =>
      acc +
      ((after?.cpuSeconds ?? NaN) - (cpuBefore[index]?.cpuSeconds ?? NaN)),
    0,
  );
  const run: SweepRun = {
    replicas,
    connections: total,
    refreshed: done,
    failedOrOther: other,
    timedOut,
    refreshSeconds: round(refreshSeconds, 2),
    wallSeconds: round((finished - ready) / 1000, 2),
    refreshesPerSecond: round(done / refreshSeconds, 1),
    slotMsPerRefresh: round(slotMs, 1),
    lwaCallMeanMs: round((lwaSum / lwaCount) * 1000, 1),
    sandboxMeanMs: round(sandboxMeanMs, 2),
    ourMsPerRefresh: round(slotMs - sandboxMeanMs, 1),
    apiCpuMsPerRefresh: round((apiCpuSeconds * 1000) / done, 2),
    databaseCpuMsPerRefresh: round(
      ((dbCpuAfter - dbCpuBefore) * 1000) / done,
      2,
    ),
    sandboxRefreshRequests: refreshRequests.length,
    distinctRefreshTokens: distinct,
    refreshedAuditEvents: Number(audits[0].count),
    // Every refresh the sandbox answered was of a different token, and each shows up once as a
    // stored refresh and once as an audit event (a token refreshed twice would break either).
    exactlyOnce:
      refreshRequests.length === done &&
      distinct === refreshRequests.length &&
      Number(audits[0].count) === done,
    sweeps: sum('atk_refresh_sweep_duration_seconds_count'),
    apiPeakRssMb: peaks,
    concurrency,
    startSeconds,
    apiErrorsLogged: apiErrors,
    statementsPerRefresh: statements
      ? round(statements.calls / Math.max(1, done), 2)
      : Number.NaN,
    statements,
    repeatedTokens: repeated.length,
    repeatedOutcomes,
    window: {
      fromMs: ready - apis[0].spawnedAt,
      toMs: finished - apis[0].spawnedAt,
    },
  };
  return run;
}

function addRows(ctx: BenchContext, run: SweepRun): void {
  const phase = `4 refresh ${run.replicas}×`;
  const { report } = ctx;
  report.goal(
    {
      phase,
      metric: `refreshed of ${run.connections}${run.refreshed < run.connections ? ' (stopped at the time limit)' : ''}`,
      ours: run.refreshed,
    },
    `${run.connections}`,
    (value) => value === run.connections,
  );
  const within = run.replicas === 1 ? '< 60 s' : undefined;
  if (within) {
    report.goal(
      {
        phase,
        metric: 'first → last refresh s',
        ours: run.timedOut ? null : run.refreshSeconds,
      },
      within,
      (value) => value < 60,
    );
  } else {
    report.add({
      phase,
      metric: 'first → last refresh s',
      ours: run.refreshSeconds,
    });
  }
  report.add({
    phase,
    metric: 'API ready → all refreshed s (incl. wait for tick)',
    ours: run.wallSeconds,
  });
  report.add({ phase, metric: 'refreshes/s', ours: run.refreshesPerSecond });
  report.goal(
    {
      phase,
      metric: `time per refresh ms (sweep busy × ${run.concurrency} / n)`,
      ours: run.slotMsPerRefresh,
    },
    '< 500 ms',
    (value) => value < 500,
  );
  report.add({
    phase,
    metric: 'LWA call mean ms (API histogram) / sandbox mean ms',
    ours: `${run.lwaCallMeanMs} / ${run.sandboxMeanMs}`,
  });
  report.add({
    phase,
    metric: 'our time per refresh ms (slot − sandbox)',
    ours: run.ourMsPerRefresh,
  });
  report.add({
    phase,
    metric: 'CPU ms per refresh: API / PostgreSQL',
    ours: `${run.apiCpuMsPerRefresh} / ${run.databaseCpuMsPerRefresh}`,
  });
  report.add({
    phase,
    metric: 'database statements per refresh',
    ours: run.statementsPerRefresh,
  });
  report.goal(
    {
      phase,
      metric: `exactly once: sandbox refresh calls / distinct tokens / audit / stored`,
      ours: `${run.sandboxRefreshRequests} / ${run.distinctRefreshTokens} / ${run.refreshedAuditEvents} / ${run.refreshed}`,
    },
    'all equal',
    () => run.exactlyOnce,
  );
  // `goal` reads a number; this one is a text, so set pass by hand.
  const last = report.rows[report.rows.length - 1];
  last.pass = run.exactlyOnce;
}

/** Phase 4: the scheduled sweep refreshing `refreshConnections` due connections, on 1 then 3 replicas. */
export async function refreshPhase(ctx: BenchContext): Promise<void> {
  const runs: Record<string, SweepRun> = {};
  ctx.raw.refresh = runs;
  const seedStarted = performance.now();
  await seedDueConnections(ctx, ctx.options.refreshConnections);
  ctx.raw.refreshSeedSeconds = round(
    (performance.now() - seedStarted) / 1000,
    2,
  );
  for (const replicas of ctx.options.singleReplicaOnly ? [1] : [1, 3]) {
    try {
      if (replicas > 1) await makeDueAgain(ctx);
      const run = await sweepRun(
        ctx,
        replicas,
        replicas === 1 ? 75_000 : 50_000,
      );
      runs[`${replicas}x`] = run;
      addRows(ctx, run);
    } catch (error) {
      ctx.report.problem(`4 refresh ${replicas}×`, error);
    }
  }
}

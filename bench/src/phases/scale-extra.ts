/**
 * The rest of issue #17's measurements at 100,000 connections, after `--scale`'s one-replica
 * sweep (bench/src/scale-main.ts): 30,000 due on three replicas, the steady-state spread of the
 * refreshes (from the API's own `nextRefreshAt`), the admin's first page, readiness and
 * `/metrics`, RSS and CPU between sweeps, and request latency while 1,000,000 audit rows are
 * pruned. Each part adds its rows on its own; one that throws is reported and the next runs.
 */
import { imageNodeOptions } from '@keeper/test-support';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { ApiProcess } from '../lib/api-process';
import { logIn } from '../lib/api-session';
import { http } from '../lib/http-client';
import { metricValue } from '../lib/metrics-text';
import { cpuPercentOver } from '../lib/proc-stats';
import { percentile, round, sleep } from '../lib/stats';
import type { BenchContext } from './context';
import { sweepRun } from './refresh';

const MB = 1024 ** 2;

/** Every row stamped as refreshed just now with an hour's token: none is due for 5 minutes. */
async function pushAll(ctx: BenchContext): Promise<void> {
  await ctx.db.pool.query(
    `UPDATE connections SET last_refreshed_at = now(), access_token_expires_at = now() + interval '1 hour',
            lease_owner = NULL, lease_expires_at = NULL`,
  );
}

/** 2. `due` connections on three replicas of the API (refresh.ts's sweep run). */
export async function threeReplicas(
  ctx: BenchContext,
  due: number,
): Promise<void> {
  const phase = 'scale 3×';
  await pushAll(ctx);
  await ctx.db.pool.query(
    `UPDATE connections SET access_token_expires_at = now() - interval '1 minute', last_refreshed_at = now() - interval '61 minutes',
            status = 'active', failure_count = 0, next_attempt_at = NULL
     WHERE label LIKE 'bench-due-%'`,
  );
  ctx.options.refreshConnections = due;
  const run = await sweepRun(ctx, 3, 90_000);
  ctx.raw.threeReplicas = run;
  ctx.report.add({
    phase,
    metric: `due connections refreshed (of ${due})`,
    ours: run.refreshed,
  });
  ctx.report.goal(
    {
      phase,
      metric:
        'replicas ready → last refresh s (first tick ≤ 5 s after ready; an upper bound)',
      ours: run.timedOut ? null : run.wallSeconds,
    },
    '< 60 s',
    (value) => value < 60 && run.refreshed === due,
  );
  ctx.report.add({
    phase,
    metric: 'first refresh → last s',
    ours: run.refreshSeconds,
  });
  ctx.report.add({
    phase,
    metric: 'refreshes a second',
    ours: run.refreshesPerSecond,
  });
  ctx.report.add({
    phase,
    metric: 'exactly once: sandbox calls / distinct tokens / audit / stored',
    ours: `${run.sandboxRefreshRequests} / ${run.distinctRefreshTokens} / ${run.refreshedAuditEvents} / ${run.refreshed}`,
    goal: 'all equal',
    pass: run.exactlyOnce && run.refreshed === due,
  });
}

/** Sequential GETs on one keep-alive connection: each one's ms and the last body's size. */
async function timed(
  url: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<{ ms: number[]; bytes: number; statuses: Set<number> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ms: number[] = [];
  const statuses = new Set<number>();
  let bytes = 0;
  try {
    for (let index = 0; index < count; index += 1) {
      const began = performance.now();
      const answer = await http(url, { headers, agent });
      ms.push(performance.now() - began);
      statuses.add(answer.status);
      bytes = Buffer.byteLength(answer.body);
    }
  } finally {
    agent.destroy();
  }
  return { ms, bytes, statuses };
}

/** Every connection through `GET /connections`, 200 a page, in the API's default order. */
async function pageThrough(
  api: ApiProcess,
  headers: Record<string, string>,
  onItem: (item: { nextRefreshAt: string | null }) => void,
): Promise<void> {
  let cursor: string | null = null;
  do {
    const query = `limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const answer = await http(`${api.url}/api/v1/connections?${query}`, {
      headers,
    });
    if (answer.status !== 200)
      throw new Error(`GET /connections answered ${answer.status}`);
    const page = JSON.parse(answer.body) as {
      items: { nextRefreshAt: string | null }[];
      nextCursor: string | null;
    };
    for (const item of page.items) onItem(item);
    cursor = page.nextCursor;
  } while (cursor);
}

/**
 * CPU over 20 s that holds no sweep (the production schedule sweeps at :00), % of a core, and
 * the part of it V8's garbage collector took (from the API's `atk_nodejs_gc_duration_seconds`):
 * in the first such gap from now, or (`nextMinute`) in the gap of the minute after this one.
 */
async function cpuBetweenSweeps(
  api: ApiProcess,
  options: { nextMinute?: boolean } = {},
): Promise<{ cpu: number; gcPercent: number; sweeps: number }> {
  const second = new Date().getSeconds();
  if (options.nextMinute) await sleep((63 - second) * 1000);
  else if (second < 3 || second > 37) await sleep(((63 - second) % 60) * 1000);
  const before = await api.metrics();
  const began = performance.now();
  const cpu = await cpuPercentOver(api.pid, 20_000);
  const after = await api.metrics();
  const seconds = (performance.now() - began) / 1000;
  const delta = (name: string) =>
    metricValue(after, name) - metricValue(before, name);
  return {
    cpu,
    gcPercent: (delta('atk_nodejs_gc_duration_seconds_sum') / seconds) * 100,
    sweeps: delta('atk_refresh_sweep_duration_seconds_count'),
  };
}

/**
 * 6b. The RSS after the same reads (every row paged through, 200 first pages) and the CPU between
 * sweeps of an API started as plain `node main.js`, without the image's heap options: what
 * they are worth and what they cost.
 */
export async function readsPlainNode(ctx: BenchContext): Promise<void> {
  const api = await ApiProcess.start(ctx.settings, {
    name: 'scale-reads-plain',
    refreshCron: '0 * * * * *',
  });
  try {
    const headers = { cookie: await logIn(api, ctx.settings.adminPassword) };
    await pageThrough(api, headers, () => undefined);
    await timed(`${api.url}/api/v1/connections`, 200, headers);
    const sample = await api.sample();
    const { cpu, gcPercent, sweeps } = await cpuBetweenSweeps(api);
    ctx.report.add({
      phase: 'scale reads',
      metric: `reference, plain \`node main.js\` (no heap options): RSS after the same reads MB / CPU over 20 s between sweeps (${sweeps} in it) % / of it GC %`,
      ours: `${round((sample?.rssBytes ?? NaN) / MB, 1)} / ${round(cpu, 2)} / ${round(gcPercent, 2)}`,
    });
  } finally {
    await api.stop();
  }
}

/**
 * 3–6. One API, run as the image runs it (its heap options; the production schedule, a sweep
 * every minute), over 100,000 connections stamped as refreshed in the same minute: every
 * `nextRefreshAt` read through `GET /connections`, the first page, readiness, `/metrics`, RSS
 * after, CPU over 20 s between two sweeps.
 */
export async function reads(ctx: BenchContext): Promise<void> {
  const phase = 'scale reads';
  const { report } = ctx;
  // A cohort: every connection refreshed within the same minute with an hour's token, as a
  // refresh stores it (last_refreshed_at = now, expiry = now + expires_in).
  await ctx.db.pool.query(
    `UPDATE connections SET last_refreshed_at = r.at, access_token_expires_at = r.at + interval '1 hour',
            status = 'active', failure_count = 0, next_attempt_at = NULL, lease_owner = NULL, lease_expires_at = NULL
     FROM (SELECT id, now() - random() * interval '60 seconds' AS at FROM connections) AS r
     WHERE connections.id = r.id`,
  );
  await ctx.db.pool.query('VACUUM ANALYZE connections');
  const api = await ApiProcess.start(ctx.settings, {
    name: 'scale-reads',
    refreshCron: '0 * * * * *',
    nodeArgs: imageNodeOptions(join(ctx.root, 'Dockerfile.api')),
  });
  try {
    const cookie = await logIn(api, ctx.settings.adminPassword);
    const headers = { cookie };
    // 3. Every connection's next refresh, as the API computes it, a page of 200 at a time.
    const perMinute = new Map<number, number>();
    let read = 0;
    const pagingBegan = performance.now();
    await pageThrough(api, headers, (item) => {
      read += 1;
      if (!item.nextRefreshAt) return;
      const minute = Math.floor(Date.parse(item.nextRefreshAt) / 60_000);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
    });
    const pagingSeconds = (performance.now() - pagingBegan) / 1000;
    const minutes = [...perMinute.keys()].sort((a, b) => a - b);
    const first = minutes[0];
    const last = minutes[minutes.length - 1];
    const histogram: number[] = [];
    for (let minute = first; minute <= last; minute += 1)
      histogram.push(perMinute.get(minute) ?? 0);
    const scheduled = histogram.reduce((sum, count) => sum + count, 0);
    const average = scheduled / histogram.length;
    // The first and last minutes hold only part of the cohort's spread (it started mid-minute).
    const inner = histogram.slice(1, -1);
    const innerAverage =
      inner.reduce((sum, count) => sum + count, 0) / inner.length;
    const max = Math.max(...histogram);
    ctx.raw.spread = {
      read,
      scheduled,
      pagingSeconds: round(pagingSeconds, 1),
      minutes: histogram.length,
      firstMinuteFromNow: round(first - Date.now() / 60_000, 1),
      perMinute: histogram,
    };
    report.add({
      phase,
      metric: `connections read through GET /connections (limit 200), s`,
      ours: `${read} in ${round(pagingSeconds, 1)} s`,
    });
    report.add({
      phase,
      metric: `next refreshes of a one-minute cohort: minutes spanned / per minute avg / min / max`,
      ours: `${histogram.length} / ${round(average, 0)} / ${Math.min(...inner)} / ${max}`,
    });
    report.goal(
      {
        phase,
        metric: 'busiest minute ÷ average minute (whole minutes)',
        ours: round(max / innerAverage, 2),
      },
      '≤ 1.5×',
      (value) => value <= 1.5,
    );

    // 4. The admin's first page (default size), 5 warm-up calls first.
    const url = `${api.url}/api/v1/connections`;
    await timed(url, 5, headers);
    const list = await timed(url, 200, headers);
    report.goal(
      {
        phase,
        metric: 'GET /api/v1/connections first page p99 ms (200 sequential)',
        ours: round(percentile(list.ms, 99), 1),
      },
      '< 50 ms',
      (value) => value < 50,
    );
    report.add({
      phase,
      metric: 'the same p50 ms',
      ours: round(percentile(list.ms, 50), 1),
    });
    report.goal(
      {
        phase,
        metric: 'first page size kB',
        ours: round(list.bytes / 1000, 1),
      },
      '< 100 kB',
      (value) => value < 100,
    );
    // 5. Readiness and /metrics.
    await timed(`${api.url}/health/ready`, 20);
    const ready = await timed(`${api.url}/health/ready`, 500);
    report.goal(
      {
        phase,
        metric: '/health/ready p99 ms (500 sequential)',
        ours: round(percentile(ready.ms, 99), 2),
      },
      '< 10 ms',
      (value) => value < 10,
    );
    await timed(`${api.url}/metrics`, 3);
    const metrics = await timed(`${api.url}/metrics`, 50);
    report.goal(
      {
        phase,
        metric: '/metrics p99 ms (50 sequential)',
        ours: round(percentile(metrics.ms, 99), 1),
      },
      '< 50 ms',
      (value) => value < 50,
    );
    report.add({
      phase,
      metric: '/metrics p50 ms / size kB',
      ours: `${round(percentile(metrics.ms, 50), 1)} / ${round(metrics.bytes / 1000, 1)}`,
    });
    ctx.raw.reads = {
      listMs: list.ms.map((value) => round(value, 2)),
      listBytes: list.bytes,
      readyP50: percentile(ready.ms, 50),
      statuses: [...list.statuses, ...ready.statuses, ...metrics.statuses],
    };
    // 6. RSS after the reads; CPU over 20 s that holds no sweep (the sweep runs at :00).
    const sample = await api.sample();
    report.goal(
      {
        phase,
        metric: 'API RSS after the reads MB',
        ours: round((sample?.rssBytes ?? NaN) / MB, 1),
      },
      '< 150 MB',
      (value) => value < 150,
    );
    // What the RSS holds: V8's spaces (committed) and the memory outside the JS heap.
    const memory = await api.metrics();
    const spaces = Object.fromEntries(
      memory
        .filter(
          (entry) => entry.name === 'atk_nodejs_heap_space_size_total_bytes',
        )
        .map((entry) => [entry.labels.space, round(entry.value / MB, 1)]),
    );
    const external = metricValue(memory, 'atk_nodejs_external_memory_bytes');
    report.add({
      phase,
      metric:
        'the same: V8 heap committed / of it new space / outside the heap (external) MB',
      ours: `${round(
        Object.values(spaces).reduce((sum, size) => sum + size, 0),
        1,
      )} / ${spaces.new ?? '?'} / ${round(external / MB, 1)}`,
    });
    ctx.raw.memoryAfterReads = { spaces, externalMb: round(external / MB, 1) };
    const afterReads = await cpuBetweenSweeps(api);
    report.goal(
      {
        phase,
        metric: `API CPU over 20 s between sweeps right after the reads (${afterReads.sweeps} sweeps in it), % of a core`,
        ours: round(afterReads.cpu, 2),
      },
      '< 0.5%',
      (value) => value < 0.5,
    );
    // The same gap a minute on, when what the reads left to do is done: what an idle replica
    // costs.
    const steady = await cpuBetweenSweeps(api, { nextMinute: true });
    report.goal(
      {
        phase,
        metric: `API CPU over 20 s between sweeps a minute later (${steady.sweeps} sweeps in it), % of a core`,
        ours: round(steady.cpu, 2),
      },
      '< 0.5%',
      (value) => value < 0.5,
    );
    report.add({
      phase,
      metric:
        "of those, V8's garbage collector (right after the reads / a minute later), % of a core",
      ours: `${round(afterReads.gcPercent, 2)} / ${round(steady.gcPercent, 2)}`,
    });
  } finally {
    await api.stop();
  }
}

/**
 * 7. 1,000,000 audit events older than the retention; an API with AUDIT_RETENTION_DAYS=30
 * prunes them (30 s after its start, 5,000 a batch, 200 ms apart) while the bench asks for an
 * access token at a steady 100 a second. Latency before, during and right after the pruning.
 */
export async function pruning(ctx: BenchContext, rows: number): Promise<void> {
  const phase = 'scale prune';
  const { report } = ctx;
  const seedBegan = performance.now();
  const { rows: range } = await ctx.db.pool.query<{
    first: string;
    last: string;
  }>(
    `WITH inserted AS (
       INSERT INTO audit_events (type, actor, details, created_at)
       SELECT 'refreshed', 'scheduler', '{}'::jsonb, now() - interval '400 days' + n * interval '1 second'
       FROM generate_series(1, $1::int) AS n
       RETURNING id)
     SELECT min(id)::text AS first, max(id)::text AS last FROM inserted`,
    [rows],
  );
  await ctx.db.pool.query('VACUUM ANALYZE audit_events');
  const seedSeconds = (performance.now() - seedBegan) / 1000;
  const { first, last } = range[0];
  const { rows: target } = await ctx.db.pool.query<{ id: string }>(
    `SELECT id FROM connections WHERE label LIKE 'bench-due-%' LIMIT 1`,
  );
  const api = await ApiProcess.start(ctx.settings, {
    name: 'scale-prune',
    refreshCron: '0 0 0 1 1 *',
    variables: { AUDIT_RETENTION_DAYS: '30' },
  });
  const startedAt = performance.now();
  let pruneStart: number | undefined;
  let pruneEnd: number | undefined;
  const samples: { at: number; ms: number; ok: boolean }[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 20 });
  const url = `${api.url}/api/v1/connections/${target[0].id}/access-token`;
  const headers = { authorization: `Bearer ${ctx.settings.serviceKey}` };
  let stop = false;
  const hardStop = startedAt + 240_000;
  const loader = (async () => {
    const inFlight: Promise<void>[] = [];
    let next = performance.now();
    while (!stop && performance.now() < hardStop) {
      next += 10; // 100 a second
      const began = performance.now();
      inFlight.push(
        http(url, { headers, agent, timeoutMs: 10_000 }).then(
          (answer) => {
            samples.push({
              at: began,
              ms: performance.now() - began,
              ok: answer.status === 200,
            });
          },
          () => {
            samples.push({
              at: began,
              ms: performance.now() - began,
              ok: false,
            });
          },
        ),
      );
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(inFlight);
  })();
  try {
    while (performance.now() < hardStop) {
      const { rows: left } = await ctx.db.pool.query<{ min: string | null }>(
        `SELECT min(id)::text AS min FROM audit_events WHERE id BETWEEN $1 AND $2`,
        [first, last],
      );
      const now = performance.now();
      if (pruneStart === undefined && left[0].min !== first) pruneStart = now;
      if (left[0].min === null) {
        pruneEnd = now;
        break;
      }
      await sleep(250);
    }
    // Right after: 30 s more of the same load.
    if (pruneEnd !== undefined) await sleep(30_000);
  } finally {
    stop = true;
    await loader;
    agent.destroy();
    await api.stop();
  }
  const window = (from: number, to: number) =>
    samples.filter((sample) => sample.at >= from && sample.at < to);
  const before = window(startedAt + 5_000, pruneStart ?? hardStop);
  const during = window(pruneStart ?? hardStop, pruneEnd ?? hardStop);
  const after = window(pruneEnd ?? hardStop, Number.POSITIVE_INFINITY);
  const describe = (set: typeof samples) =>
    set.length === 0
      ? 'n/a'
      : `${round(
          percentile(
            set.map((s) => s.ms),
            50,
          ),
          2,
        )} / ${round(
          percentile(
            set.map((s) => s.ms),
            99,
          ),
          2,
        )} (${set.length}, ${set.filter((s) => !s.ok).length} failed)`;
  const seconds =
    pruneStart !== undefined && pruneEnd !== undefined
      ? (pruneEnd - pruneStart) / 1000
      : Number.NaN;
  ctx.raw.pruning = {
    rows,
    seedSeconds: round(seedSeconds, 1),
    pruneStartAfterApiSeconds:
      pruneStart === undefined
        ? null
        : round((pruneStart - startedAt) / 1000, 1),
    pruneSeconds: round(seconds, 1),
    before: before.length,
    during: during.length,
    after: after.length,
  };
  report.add({
    phase,
    metric: `${rows} expired audit events: seeded in s / pruned in s (poll 250 ms)`,
    ours: `${round(seedSeconds, 1)} / ${round(seconds, 1)}`,
  });
  report.add({
    phase,
    metric:
      'access-token @100/s p50 / p99 ms: before pruning (from 5 s after start)',
    ours: describe(before),
  });
  report.add({
    phase,
    metric: 'the same while pruning',
    ours: describe(during),
  });
  report.add({
    phase,
    metric: 'the same in the 30 s right after',
    ours: describe(after),
  });
  const p99During = percentile(
    during.map((s) => s.ms),
    99,
  );
  // The baseline is every sample taken while nothing was pruned, before and after: either
  // window alone holds only a few dozen samples above its p99.
  const p99Quiet = percentile(
    [...before, ...after].map((s) => s.ms),
    99,
  );
  report.goal(
    {
      phase,
      metric:
        'p99 while pruning ÷ p99 while not pruning (before and after together)',
      ours: round(p99During / p99Quiet, 2),
    },
    'flat (≤ 1.5×)',
    (value) => value <= 1.5,
  );
}

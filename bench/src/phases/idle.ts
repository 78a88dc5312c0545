import { ApiProcess } from '../lib/api-process';
import { metricValue } from '../lib/metrics-text';
import { treeCpuSeconds } from '../lib/proc-stats';
import { median, round, sleep } from '../lib/stats';
import type { BenchContext } from './context';
import { SWEEP_CRON } from './refresh';

const MB = 1024 ** 2;

/**
 * Phase 6: a fresh API with the sweep every 5 s and every connection (the refresh phase's
 * 10,000 and the flows') not due: RSS after start, and CPU over a fixed window, as % of one core.
 */
export async function idlePhase(ctx: BenchContext): Promise<void> {
  // Whatever an earlier phase left due (a sweep stopped at its time limit) is pushed an hour out.
  await ctx.db.pool.query(
    `UPDATE connections SET access_token_expires_at = now() + interval '1 hour', lease_owner = NULL, lease_expires_at = NULL
     WHERE status IN ('active', 'degraded') AND access_token_expires_at <= now() + interval '30 minutes'`,
  );
  const { rows } = await ctx.db.pool.query<{ total: string; due: string }>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE status IN ('active', 'degraded') AND access_token_expires_at <= now() + interval '300 seconds') AS due
     FROM connections`,
  );
  const api = await ApiProcess.start(ctx.settings, {
    name: 'idle',
    refreshCron: SWEEP_CRON,
  });
  try {
    // Past start-up work and the first tick.
    await sleep(6_000);
    const afterStart = await api.sample();
    const ticksBefore = metricValue(
      await api.metrics(),
      'atk_refresh_sweep_duration_seconds_count',
    );
    const cpuBefore = await api.sample();
    const dbBefore = ctx.db.postmasterPid
      ? treeCpuSeconds(ctx.db.postmasterPid)
      : NaN;
    // 5-second slices (one sweep tick each): their median is the steady state, without one-off
    // work such as V8 shrinking the start-up heap (a few hundred ms of GC some 30 s after start).
    const slices: number[] = [];
    let previous = cpuBefore;
    const sliceCount = Math.max(1, Math.round(ctx.options.idleSeconds / 5));
    for (let slice = 0; slice < sliceCount; slice += 1) {
      await sleep(5_000);
      const current = await api.sample();
      if (previous && current) {
        slices.push(
          round(
            ((current.cpuSeconds - previous.cpuSeconds) /
              ((current.at - previous.at) / 1000)) *
              100,
            2,
          ),
        );
      }
      previous = current;
    }
    const cpuAfter = previous;
    const dbAfter = ctx.db.postmasterPid
      ? treeCpuSeconds(ctx.db.postmasterPid)
      : NaN;
    const ticksAfter = metricValue(
      await api.metrics(),
      'atk_refresh_sweep_duration_seconds_count',
    );
    const seconds =
      cpuBefore && cpuAfter ? (cpuAfter.at - cpuBefore.at) / 1000 : NaN;
    const cpuPercent =
      cpuBefore && cpuAfter
        ? ((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) / seconds) * 100
        : NaN;
    const dbPercent = ((dbAfter - dbBefore) / seconds) * 100;
    const raw = {
      connections: Number(rows[0].total),
      dueAtStart: Number(rows[0].due),
      startSeconds: round(api.startSeconds, 2),
      rssAfterStartMb: round((afterStart?.rssBytes ?? NaN) / MB, 1),
      rssAfterIdleMb: round((cpuAfter?.rssBytes ?? NaN) / MB, 1),
      windowSeconds: round(seconds, 1),
      cpuPercent: round(cpuPercent, 3),
      databaseCpuPercent: round(dbPercent, 3),
      sweepsInWindow: ticksAfter - ticksBefore,
      sliceCpuPercents: slices,
      medianSliceCpuPercent: round(median(slices), 3),
    };
    ctx.raw.idle = raw;
    const phase = '6 idle';
    const { report } = ctx;
    report.goal(
      {
        phase,
        metric: `RSS after start, sweep every 5 s, ${raw.connections} connections (${raw.dueAtStart} due) MB`,
        ours: raw.rssAfterStartMb,
      },
      '< 100 MB',
      (value) => value < 100,
    );
    report.goal(
      {
        phase,
        metric: `API CPU over ${raw.windowSeconds} s idle (${raw.sweepsInWindow} sweeps), % of a core`,
        ours: raw.cpuPercent,
      },
      '< 1%',
      (value) => value < 1,
    );
    report.add({
      phase,
      metric: 'API CPU, median 5-s slice (steady state), % of a core',
      ours: raw.medianSliceCpuPercent,
    });
    report.add({
      phase,
      metric: 'PostgreSQL CPU meanwhile, % of a core',
      ours: ctx.db.postmasterPid
        ? raw.databaseCpuPercent
        : 'n/a (external server)',
    });
    report.add({
      phase,
      metric: 'RSS after the idle window MB',
      ours: raw.rssAfterIdleMb,
    });
  } finally {
    await api.stop();
  }
}

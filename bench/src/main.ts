/**
 * `npm run bench` (after bench/run.mjs has built the API and bundled this file): every phase of
 * the benchmark suite against the webpack-built API as child processes, a table on stdout, and
 * everything measured in bench/results/latest.json. See bench/README.md.
 */
import { startLwaSandbox } from '@keeper/lwa-sandbox';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiProcess, freshApiSettings } from './lib/api-process';
import { logIn } from './lib/api-session';
import { installSignalHandlers, onCleanup, runAsMain } from './lib/cleanup';
import { startDatabase } from './lib/database';
import { machineInfo } from './lib/machine';
import { metricValue } from './lib/metrics-text';
import { HAS_PROC, RssWatcher } from './lib/proc-stats';
import { Report, writeJson } from './lib/report';
import { round, sleep, within } from './lib/stats';
import { accessTokenPhase } from './phases/access-token';
import { fuzzPhase } from './phases/fuzz';
import { hostileJsonPhase } from './phases/hostile-json';
import type { BenchContext, BenchOptions } from './phases/context';
import { fernetPhase } from './phases/fernet';
import { flowsPhase } from './phases/flows';
import { httpPhase } from './phases/http';
import { idlePhase } from './phases/idle';
import { profileRun } from './phases/profile';
import { proxyPhase } from './phases/proxy';
import { refreshPhase } from './phases/refresh';

const FAR_AWAY_CRON = '0 0 0 1 1 *';
const MB = 1024 ** 2;
/** Two API and sandbox starts, 100 seeded connections, two loads with their settling, 50 MB twice. */
const PROXY_LIMIT_MS = 180_000;

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function optionsFor(
  mode: 'full' | 'quick' | 'profile' | 'proxy',
): BenchOptions {
  const number = (name: string, fallback: number) => {
    const value = Number(process.env[name]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  const quick = mode === 'quick';
  return {
    loadSeconds: number('BENCH_LOAD_SECONDS', quick ? 2 : 5),
    idleSeconds: number('BENCH_IDLE_SECONDS', quick ? 10 : 40),
    flowsAt100: number('BENCH_FLOWS', quick ? 300 : 600),
    flowsAt1000: 1000,
    refreshConnections: number(
      'BENCH_REFRESH_CONNECTIONS',
      quick ? 2000 : 10_000,
    ),
    singleReplicaOnly: process.env.BENCH_SINGLE_REPLICA === '1',
  };
}

/** Runs a phase with an outer time bound; a phase that overruns it breaks the bench. */
async function phase(
  ctx: BenchContext,
  name: string,
  limitMs: number,
  run: () => Promise<void>,
): Promise<void> {
  const began = performance.now();
  log(`${name}…`);
  try {
    await within(run(), limitMs, name);
  } catch (error) {
    ctx.report.problem(name, error);
    if ((error as Error).message.includes('took longer than')) throw error;
  } finally {
    (ctx.raw.phaseSeconds as Record<string, number>)[name] = round(
      (performance.now() - began) / 1000,
      1,
    );
    log(`${name} done in ${round((performance.now() - began) / 1000, 1)} s`);
  }
}

/** Phases 1 to 9 (and 0, the API's start), in the order that keeps their numbers apart. */
async function everyPhase(ctx: BenchContext): Promise<void> {
  const { report, raw } = ctx;
  await phase(ctx, '1 fernet', 60_000, () => fernetPhase(ctx));

  // One API for phases 2, 3 and 5: the sweep far away, so only the requests cost anything.
  const api = await within(
    ApiProcess.start(ctx.settings, {
      name: 'main',
      refreshCron: FAR_AWAY_CRON,
    }),
    120_000,
    'starting the API',
  );
  report.add({
    phase: '0 start',
    metric: 'API start: spawn → /health/live answers, s',
    ours: round(api.startSeconds, 2),
  });
  await sleep(3_000);
  const afterStart = await api.sample();
  const watcher = new RssWatcher(api.pid);
  const sessionCookie = await logIn(api, ctx.settings.adminPassword);
  const withApi = { api, sessionCookie };

  await phase(ctx, '2 http', 240_000, () => httpPhase(ctx, withApi));
  let connectionId: string | undefined;
  await phase(ctx, '3 flows', 300_000, async () => {
    connectionId = await flowsPhase(ctx, withApi);
  });
  await phase(ctx, '5 access-token', 60_000, async () => {
    if (!connectionId)
      throw new Error('no connection from phase 3 to read a token of');
    await accessTokenPhase(ctx, withApi, connectionId);
  });
  await sleep(5_000);
  const afterLoads = await api.sample();
  const peak = watcher.stop();
  const heap = await api.metrics().then(
    (samples) => ({
      usedMb: round(
        metricValue(samples, 'atk_nodejs_heap_size_used_bytes') / MB,
        1,
      ),
      totalMb: round(
        metricValue(samples, 'atk_nodejs_heap_size_total_bytes') / MB,
        1,
      ),
      externalMb: round(
        metricValue(samples, 'atk_nodejs_external_memory_bytes') / MB,
        1,
      ),
    }),
    () => undefined,
  );
  // After the memory figures: the fuzzer renames and refreshes connections on this API.
  await phase(ctx, '7 fuzz', 300_000, () => fuzzPhase(ctx, withApi));
  await phase(ctx, '8 hostile JSON', 300_000, () =>
    hostileJsonPhase(ctx, withApi),
  );
  await api.stop();
  raw.mainApi = {
    startSeconds: round(api.startSeconds, 2),
    rssAfterStartMb: round((afterStart?.rssBytes ?? NaN) / MB, 1),
    rssAfterLoadsMb: round((afterLoads?.rssBytes ?? NaN) / MB, 1),
    peakRssMb: round(Math.max(peak, afterLoads?.peakRssBytes ?? 0) / MB, 1),
    heapAfterLoads: heap,
  };
  const mainApi = raw.mainApi as {
    rssAfterStartMb: number;
    rssAfterLoadsMb: number;
    peakRssMb: number;
  };
  report.goal(
    {
      phase: '6 idle',
      metric: 'RSS after start (no sweep due, few rows) MB',
      ours: mainApi.rssAfterStartMb,
    },
    '< 100 MB',
    (v) => v < 100,
  );
  report.goal(
    {
      phase: '6 idle',
      metric: 'RSS after phases 2, 3, 5 (5 s quiet) MB',
      ours: mainApi.rssAfterLoadsMb,
    },
    '< 100 MB',
    (v) => v < 100,
  );
  report.add({
    phase: '6 idle',
    metric: 'peak RSS during phases 2, 3, 5 MB',
    ours: mainApi.peakRssMb,
  });
  if (heap)
    report.add({
      phase: '6 idle',
      metric: 'after phases 2, 3, 5: V8 heap used / total / external MB',
      ours: `${heap.usedMb} / ${heap.totalMb} / ${heap.externalMb}`,
    });

  await phase(ctx, '4 refresh', 300_000, () => refreshPhase(ctx));
  await phase(ctx, '6 idle', ctx.options.idleSeconds * 1000 + 120_000, () =>
    idlePhase(ctx),
  );
  // Last: its connections' tokens come from a sandbox process of its own, gone afterwards.
  await phase(ctx, '9 proxy', PROXY_LIMIT_MS, () => proxyPhase(ctx));
}

async function main(): Promise<number> {
  installSignalHandlers();
  const args = process.argv.slice(2);
  const mode = args.includes('--profile')
    ? 'profile'
    : args.includes('--proxy')
      ? 'proxy'
      : args.includes('--quick')
        ? 'quick'
        : 'full';
  const root = resolve(process.env.BENCH_ROOT ?? process.cwd());
  const outDir = join(root, 'dist', 'bench');
  const apiMain = process.env.BENCH_API_MAIN ?? join(outDir, 'api', 'main.js');
  const options = optionsFor(mode);
  const startedAt = new Date();
  const began = performance.now();
  const machineAtStart = machineInfo();
  log(
    `${mode} run on ${machineAtStart.cores} × ${machineAtStart.cpuModel}, load ${machineAtStart.loadAverage.join(' ')}`,
  );

  const tempRoot = await mkdtemp(join(tmpdir(), 'atk-bench-'));
  // Registered first, so it runs last: after the APIs and the database have stopped.
  onCleanup('remove the temp folder', () =>
    rm(tempRoot, { recursive: true, force: true }),
  );

  const report = new Report();
  const raw: Record<string, unknown> = { phaseSeconds: {} };
  const db = await within(
    startDatabase(tempRoot),
    120_000,
    'starting PostgreSQL',
  );
  log(
    `PostgreSQL ${db.version} (${db.kind === 'embedded' ? 'embedded, in the temp folder' : 'fresh database on DATABASE_URL'})`,
  );
  const sandbox = await startLwaSandbox({ requestLogLimit: 200_000 });
  onCleanup('close the LWA sandbox', () => sandbox.close());
  const ctx: BenchContext = {
    root,
    outDir,
    tempRoot,
    options,
    report,
    raw,
    db,
    sandbox,
    runTag: randomBytes(3).toString('hex'),
    settings: freshApiSettings(apiMain, tempRoot, db.url, sandbox),
  };

  if (mode === 'profile') {
    await profileRun(ctx);
    return 0;
  }

  if (!HAS_PROC)
    report.unmeasured.push(
      'No /proc: RSS and CPU come from the API /metrics (process_*), PostgreSQL CPU is not measured.',
    );

  if (mode === 'proxy')
    await phase(ctx, '9 proxy', PROXY_LIMIT_MS, () => proxyPhase(ctx));
  else await everyPhase(ctx);

  const finishedAt = new Date();
  const machine = {
    ...machineInfo(),
    loadAverageAtStart: machineAtStart.loadAverage,
  };
  // Phases in order (the main API's memory rows were measured before phase 4 ran).
  const order = (name: string) => Number(/^\d+/.exec(name)?.[0] ?? 99);
  const rows = [...report.rows].sort((a, b) => order(a.phase) - order(b.phase));
  report.rows.splice(0, report.rows.length, ...rows);
  const result = {
    mode,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallSeconds: round((performance.now() - began) / 1000, 1),
    machine,
    database: { kind: db.kind, version: db.version },
    settings: {
      ...options,
      apiLogLevel: 'warn',
      nodeEnv: 'production',
      sandbox: 'in the bench process',
    },
    rows: report.rows,
    problems: report.problems,
    notes: report.notes,
    unmeasured: report.unmeasured,
    raw,
  };
  const target =
    mode === 'full'
      ? join(root, 'bench', 'results', 'latest.json')
      : join(outDir, `${mode}.json`);
  await writeJson(target, result);

  process.stdout.write(`\n${report.table()}\n\n`);
  process.stdout.write(
    `machine: ${machine.cores} × ${machine.cpuModel}, ${machine.totalMemoryGb} GB, ${machine.os}, node ${machine.node}\n` +
      `load average: ${machineAtStart.loadAverage.join(' ')} at start, ${machine.loadAverage.join(' ')} at the end\n` +
      `database: PostgreSQL ${db.version} (${db.kind}); wall time ${result.wallSeconds} s; written to ${target}\n`,
  );
  if (report.notes.length > 0)
    process.stdout.write(
      `notes:\n${report.notes.map((line) => `  - ${line}`).join('\n')}\n`,
    );
  if (report.unmeasured.length > 0)
    process.stdout.write(
      `not measured:\n${report.unmeasured.map((line) => `  - ${line}`).join('\n')}\n`,
    );
  if (report.problems.length > 0) {
    process.stdout.write(
      `bench problems:\n${report.problems.map((p) => `  - ${p.phase}: ${p.message.split('\n')[0]}`).join('\n')}\n`,
    );
    return 1;
  }
  return 0;
}

runAsMain(main);

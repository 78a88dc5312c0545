import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiProcess } from '../lib/api-process';
import { logIn } from '../lib/api-session';
import { ProfileSummary, summariseProfile } from '../lib/cpu-profile';
import { load } from '../lib/load';
import type { StatementDelta } from '../lib/statement-stats';
import type { BenchContext } from './context';
import { runFlows } from './flows';
import { keeperCalls, seedConnections, withProxyRig } from './proxy';
import { seedDueConnections, SWEEP_CRON, sweepRun } from './refresh';
import { sleep } from '../lib/stats';

const FAR_AWAY = '0 0 0 1 1 *';

function print(title: string, summary: ProfileSummary): void {
  const lines = [
    `\n${title}: ${summary.windowMs} ms window, ${summary.busyMs} ms busy (${summary.idleMs} ms idle); % of busy time`,
  ];
  const section = (
    heading: string,
    costs: ProfileSummary['selfByFunction'],
    count: number,
  ) => {
    lines.push('', heading);
    for (const cost of costs.slice(0, count))
      lines.push(
        `  ${String(cost.percent).padStart(5)}%  ${String(cost.ms).padStart(6)} ms  ${cost.what}`,
      );
  };
  section('self time by function:', summary.selfByFunction, 20);
  section('self time by package / module:', summary.selfByPlace, 15);
  section(
    'total time of our own functions (callees included):',
    summary.inclusiveOwnCode,
    15,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printStatements(
  title: string,
  statements: StatementDelta | undefined,
): void {
  if (!statements) return;
  const lines = [
    title,
    ...statements.top
      .slice(0, 10)
      .map(
        (entry) =>
          `  ${String(entry.calls).padStart(7)}×  ${String(entry.ms).padStart(7)} ms  ${entry.query}`,
      ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function profileOf(dir: string, name: string): Promise<string> {
  const files = (await readdir(dir)).filter((file) => file.startsWith(name));
  if (files.length === 0)
    throw new Error(`no ${name} profile was written in ${dir}`);
  return join(dir, files[0]);
}

/**
 * `npm run bench -- --profile`: the API under `node --cpu-prof` for (a) the connect flows at 100
 * concurrent (then `start` at 100 connections, outside the profile's window), (b) `/health/live` then `access-token` at 100
 * connections, (c) a sweep of the due connections, (d) idle with the sweep every 5 s, (e) the Ads
 * API proxy (phase 9's calls through the keeper); prints the top costs and keeps the .cpuprofile
 * files (open them in Chrome DevTools).
 */
export async function profileRun(ctx: BenchContext): Promise<void> {
  const dir = join(
    ctx.outDir,
    'profiles',
    new Date().toISOString().replace(/[:.]/g, '-'),
  );
  await mkdir(dir, { recursive: true });
  const nodeArgs = (name: string) => [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-name=${name}.cpuprofile`,
  ];
  /** The profile named `name`, cut to `window`, printed under `title`. */
  const summarised = async (
    title: string,
    name: string,
    window: { fromMs?: number; toMs?: number },
  ): Promise<ProfileSummary> => {
    const summary = summariseProfile(
      await profileOf(dir, name),
      ctx.root,
      ctx.settings.apiMain,
      window,
    );
    print(title, summary);
    return summary;
  };

  const flowsWindow: { fromMs?: number; toMs?: number } = {};
  const api = await ApiProcess.start(ctx.settings, {
    name: 'profile-flows',
    refreshCron: FAR_AWAY,
    nodeArgs: nodeArgs('flows'),
  });
  try {
    const sessionCookie = await logIn(api, ctx.settings.adminPassword);
    flowsWindow.fromMs = performance.now() - api.spawnedAt;
    const flows = await runFlows(
      ctx,
      { api, sessionCookie },
      100,
      ctx.options.flowsAt100,
      120_000,
    );
    // The window covers the flows alone; the start load after it would drown them.
    flowsWindow.toMs = performance.now() - api.spawnedAt;
    process.stdout.write(
      `flows: ${flows.completed} in ${flows.wallSeconds} s, ${flows.errors} errors\n`,
    );
    printStatements(
      `database statements per flow: ${flows.statementsPerFlow}`,
      flows.statements,
    );
    const start = await load({
      url: `${api.url}/api/v1/auth/amazon/start?region=na`,
      headers: { cookie: sessionCookie },
      expectStatus: 302,
      connections: 100,
      durationSeconds: ctx.options.loadSeconds,
    });
    process.stdout.write(
      `start @100: ${Math.round(start.rps)} req/s, p99 ${start.p99Ms} ms\n`,
    );
  } finally {
    await api.stop();
  }
  const flowsSummary = await summarised(
    'API under the connect flows (100 concurrent)',
    'flows',
    flowsWindow,
  );

  const readsWindow: { fromMs?: number; toMs?: number } = {};
  const reads = await ApiProcess.start(ctx.settings, {
    name: 'profile-reads',
    refreshCron: FAR_AWAY,
    nodeArgs: nodeArgs('reads'),
  });
  try {
    const { rows } = await ctx.db.pool.query<{ id: string }>(
      `SELECT id FROM connections WHERE status = 'active' AND access_token_expires_at > now() + interval '30 minutes' LIMIT 1`,
    );
    readsWindow.fromMs = performance.now() - reads.spawnedAt;
    for (const [path, headers] of [
      ['/health/live', {}],
      [
        `/api/v1/connections/${rows[0]?.id}/access-token`,
        { authorization: `Bearer ${ctx.settings.serviceKey}` },
      ],
    ] as const) {
      const result = await load({
        url: `${reads.url}${path}`,
        headers,
        connections: 100,
        durationSeconds: ctx.options.loadSeconds,
      });
      process.stdout.write(
        `${path.replace(/[0-9a-f-]{36}/, ':id')} @100: ${Math.round(result.rps)} req/s, p99 ${result.p99Ms} ms\n`,
      );
    }
    readsWindow.toMs = performance.now() - reads.spawnedAt;
  } finally {
    await reads.stop();
  }
  const readsSummary = await summarised(
    'API under GET /health/live then GET /connections/:id/access-token',
    'reads',
    readsWindow,
  );

  await seedDueConnections(ctx, ctx.options.refreshConnections);
  const sweep = await sweepRun(ctx, 1, 120_000, nodeArgs('sweep'));
  process.stdout.write(
    `\nsweep: ${sweep.refreshed} refreshed in ${sweep.refreshSeconds} s\n`,
  );
  printStatements(
    `database statements per refresh: ${sweep.statementsPerRefresh}`,
    sweep.statements,
  );
  const sweepSummary = await summarised(
    'API during the refresh sweep',
    'sweep',
    sweep.window,
  );

  // Idle: the sweep every 5 s finding nothing due (the swept connections now expire in an hour).
  const idle = await ApiProcess.start(ctx.settings, {
    name: 'profile-idle',
    refreshCron: SWEEP_CRON,
    nodeArgs: nodeArgs('idle'),
  });
  const idleWindow: { fromMs?: number; toMs?: number } = {};
  try {
    await sleep(3_000);
    idleWindow.fromMs = performance.now() - idle.spawnedAt;
    await sleep(Math.min(ctx.options.idleSeconds, 30) * 1000);
    idleWindow.toMs = performance.now() - idle.spawnedAt;
  } finally {
    await idle.stop();
  }
  const idleSummary = await summarised(
    'API idle, sweep every 5 s, nothing due',
    'idle',
    idleWindow,
  );

  // Kept before the proxy's part too: a failure there must not lose the four profiles above.
  const summaries = {
    flows: flowsSummary,
    reads: readsSummary,
    sweep: sweepSummary,
    idle: idleSummary,
  };
  const writeSummary = (more: Record<string, ProfileSummary> = {}) =>
    writeFile(
      join(dir, 'summary.json'),
      `${JSON.stringify({ ...summaries, ...more }, null, 2)}\n`,
    );
  await writeSummary();

  // The Ads API proxy: phase 9's calls through the keeper, against a sandbox of its own.
  const proxyWindow: { fromMs?: number; toMs?: number } = {};
  await withProxyRig(
    ctx,
    { name: 'profile-proxy', nodeArgs: nodeArgs('proxy') },
    async (api, sandbox) => {
      const calls = keeperCalls(
        api,
        await seedConnections(ctx, sandbox),
        ctx.settings.serviceKey,
      );
      await load(calls(1));
      proxyWindow.fromMs = performance.now() - api.spawnedAt;
      const result = await load(calls(ctx.options.loadSeconds));
      proxyWindow.toMs = performance.now() - api.spawnedAt;
      process.stdout.write(
        `\nGET /connections/:id/ads/v2/profiles @100: ${Math.round(result.rps)} req/s, p99 ${result.p99Ms} ms, ${result.errors + result.unexpectedStatus} errors or non-200\n`,
      );
    },
  );
  const proxySummary = await summarised(
    'API proxying GET /v2/profiles (100 connections)',
    'proxy',
    proxyWindow,
  );

  await writeSummary({ proxy: proxySummary });
  process.stdout.write(`\nProfiles and summary.json in ${dir}\n`);
}

/**
 * `npm run bench -- --hostile-json`: only phase 8 (hostile JSON) against a fresh built API,
 * its own database and the sandbox; a table on stdout and dist/bench/hostile-json.json.
 * The full `npm run bench` runs the same phase on its main API.
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
import { Report, writeJson } from './lib/report';
import { sleep, within } from './lib/stats';
import type { BenchContext } from './phases/context';
import { hostileJsonPhase } from './phases/hostile-json';

async function main(): Promise<number> {
  installSignalHandlers();
  const root = resolve(process.env.BENCH_ROOT ?? process.cwd());
  const outDir = join(root, 'dist', 'bench');
  const machineAtStart = machineInfo();
  const tempRoot = await mkdtemp(join(tmpdir(), 'atk-bench-'));
  onCleanup('remove the temp folder', () =>
    rm(tempRoot, { recursive: true, force: true }),
  );
  const db = await within(
    startDatabase(tempRoot),
    120_000,
    'starting PostgreSQL',
  );
  const sandbox = await startLwaSandbox();
  onCleanup('close the LWA sandbox', () => sandbox.close());
  const report = new Report();
  const ctx: BenchContext = {
    root,
    outDir,
    tempRoot,
    options: {
      loadSeconds: 5,
      idleSeconds: 0,
      flowsAt100: 0,
      flowsAt1000: 0,
      refreshConnections: 0,
      singleReplicaOnly: true,
    },
    report,
    raw: {},
    db,
    sandbox,
    runTag: randomBytes(3).toString('hex'),
    settings: freshApiSettings(
      process.env.BENCH_API_MAIN ?? join(outDir, 'api', 'main.js'),
      tempRoot,
      db.url,
      sandbox,
    ),
  };
  const api = await within(
    ApiProcess.start(ctx.settings, {
      name: 'main',
      refreshCron: '0 0 0 1 1 *',
    }),
    120_000,
    'starting the API',
  );
  await sleep(3_000);
  const sessionCookie = await logIn(api, ctx.settings.adminPassword);
  await within(
    hostileJsonPhase(ctx, { api, sessionCookie }),
    300_000,
    '8 hostile JSON',
  );
  await api.stop();
  const machine = {
    ...machineInfo(),
    loadAverageAtStart: machineAtStart.loadAverage,
  };
  const target = join(outDir, 'hostile-json.json');
  await writeJson(target, {
    startedAt: new Date().toISOString(),
    machine,
    rows: report.rows,
    raw: ctx.raw,
  });
  process.stdout.write(`\n${report.table()}\n\n`);
  process.stdout.write(
    `machine: ${machine.cores} × ${machine.cpuModel}, node ${machine.node}; load average ${machineAtStart.loadAverage.join(' ')} at start, ` +
      `${machine.loadAverage.join(' ')} at the end; written to ${target}\n`,
  );
  return 0;
}

runAsMain(main);

import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ManagedChild } from '../lib/child';
import { load, LoadResult, LoadSpec } from '../lib/load';
import { sampleProcess, settle } from '../lib/proc-stats';
import { round, within } from '../lib/stats';
import {
  statementDelta,
  StatementDelta,
  statementSnapshot,
} from '../lib/statement-stats';
import type { BenchContext, WithApi } from './context';

interface BareServer {
  child: ManagedChild;
  url: string;
}

async function startBare(
  ctx: BenchContext,
  mode: 'health' | 'start',
  env: Record<string, string>,
): Promise<BareServer> {
  const child = new ManagedChild(
    `bare ${mode} server`,
    process.execPath,
    [join(ctx.outDir, 'bare-server.mjs'), mode],
    {
      env: { ...process.env, ...env },
    },
  );
  const port = await within(
    new Promise<number>((resolve, reject) => {
      child.onStdoutLine((line) => {
        const match = /^listening (\d+)/.exec(line);
        if (match) resolve(Number(match[1]));
      });
      void child.exited.then(() =>
        reject(new Error(`the bare ${mode} server exited:\n${child.output()}`)),
      );
    }),
    30_000,
    `starting the bare ${mode} server`,
  );
  return { child, url: `http://127.0.0.1:${port}` };
}

type Measured = LoadResult & {
  serverCpuPercent: number;
  statementsPerRequest?: number;
  statements?: StatementDelta;
};

/** A load run plus the CPU the server process used meanwhile (% of one core) and, if asked, its database statements. */
async function measured(
  ctx: BenchContext,
  spec: LoadSpec,
  pid: number,
  countStatements: boolean,
): Promise<Measured> {
  const statementsBefore = countStatements
    ? await statementSnapshot(ctx.db)
    : undefined;
  const before = sampleProcess(pid);
  const result = await load(spec);
  const after = sampleProcess(pid);
  const serverCpuPercent =
    before && after
      ? round(
          ((after.cpuSeconds - before.cpuSeconds) /
            ((after.at - before.at) / 1000)) *
            100,
          1,
        )
      : Number.NaN;
  if (!countStatements) return { ...result, serverCpuPercent };
  const statements = statementDelta(
    statementsBefore,
    await statementSnapshot(ctx.db),
  );
  return {
    ...result,
    serverCpuPercent,
    statements,
    statementsPerRequest: statements
      ? round(statements.calls / Math.max(1, result.requests), 2)
      : Number.NaN,
  };
}

interface Target {
  name: 'health' | 'start';
  label: string;
  api: LoadSpec;
  bare: LoadSpec;
}

/**
 * Phase 2: autocannon against the API and a bare node:http server doing the same work, back to
 * back, at 100 then 1,000 connections; each run preceded by a 1 s warm-up of that server.
 */
export async function httpPhase(
  ctx: BenchContext,
  { api, sessionCookie }: WithApi,
): Promise<void> {
  const health = await startBare(ctx, 'health', {});
  const sessionId = randomBytes(32).toString('base64url');
  const sessionSecret = randomBytes(32).toString('hex');
  const bareCookie = `atk_session=${sessionId}.${createHmac('sha256', sessionSecret).update(sessionId).digest('base64url')}`;
  const start = await startBare(ctx, 'start', {
    BARE_DATABASE_URL: ctx.db.url,
    BARE_FERNET_KEY: ctx.settings.fernetKey,
    BARE_SESSION_SECRET: sessionSecret,
    BARE_SESSION_ID: sessionId,
    BARE_CONSENT_URL: `${ctx.sandbox.url}/ap/oa`,
    BARE_CLIENT_ID: ctx.sandbox.clientId,
    BARE_REDIRECT_URI: `${api.url}/api/v1/auth/amazon/callback`,
  });
  const raw: Record<string, unknown> = {};
  ctx.raw.http = raw;
  try {
    const targets: Target[] = [
      {
        name: 'health',
        label: 'GET /health/live',
        api: {
          url: `${api.url}/health/live`,
          connections: 0,
          durationSeconds: 0,
        },
        bare: {
          url: `${health.url}/health/live`,
          connections: 0,
          durationSeconds: 0,
        },
      },
      {
        name: 'start',
        label: 'GET /auth/amazon/start',
        api: {
          url: `${api.url}/api/v1/auth/amazon/start?region=na`,
          headers: { cookie: sessionCookie },
          expectStatus: 302,
          connections: 0,
          durationSeconds: 0,
        },
        bare: {
          url: `${start.url}/api/v1/auth/amazon/start?region=na`,
          headers: { cookie: bareCookie },
          expectStatus: 302,
          connections: 0,
          durationSeconds: 0,
        },
      },
    ];
    // The API's first seconds are slow (JIT, lazy initialisation): warm both routes up once.
    for (const target of targets)
      await load({ ...target.api, connections: 50, durationSeconds: 3 });
    await settle(api.pid);
    api.takeLog();
    for (const connections of [100, 1000]) {
      for (const target of targets) {
        const key = `${target.name}@${connections}`;
        try {
          const run = async (which: 'api' | 'bare') => {
            const spec = { ...target[which], connections };
            const pid =
              which === 'api'
                ? api.pid
                : target.name === 'health'
                  ? health.child.pid
                  : start.child.pid;
            // A warm-up at 1,000 would only leave a queue behind; the 100-connection runs warmed up.
            if (connections === 100)
              await load({ ...spec, durationSeconds: 1 });
            // Whatever the warm-up (or the previous run) left queued is finished first.
            await settle(pid);
            // At 1,000 connections answers take seconds: a longer run, or few would be counted.
            const durationSeconds =
              connections === 100
                ? ctx.options.loadSeconds
                : Math.max(ctx.options.loadSeconds, 6);
            return measured(
              ctx,
              { ...spec, durationSeconds },
              pid,
              which === 'api' && target.name === 'start' && connections === 100,
            );
          };
          // Who goes first alternates, so a load spike on the shared machine is not always on one side.
          const first = connections === 100 ? 'api' : 'bare';
          const results: Record<string, Measured> = {};
          results[first] = await run(first);
          const second = first === 'api' ? 'bare' : 'api';
          results[second] = await run(second);
          const apiLog = api.takeLog();
          raw[key] = { ...results, apiLog };
          if (apiLog.errors > 0)
            ctx.report.notes.push(
              `2 http ${key}: the API logged ${apiLog.errors} errors: ${apiLog.samples.join(' | ')}`,
            );
          addRows(ctx, target, connections, results.api, results.bare);
        } catch (error) {
          ctx.report.problem(`2 http ${key}`, error);
          raw[key] = { error: (error as Error).message };
        }
      }
    }
  } finally {
    await Promise.all([health.child.stop(), start.child.stop()]);
  }
}

function addRows(
  ctx: BenchContext,
  target: Target,
  connections: number,
  ours: Measured,
  bare: Measured,
): void {
  const phase = `2 http @${connections}`;
  const { report } = ctx;
  const failures = (result: LoadResult) =>
    result.errors + result.unexpectedStatus;
  if (connections === 100) {
    report.goal(
      {
        phase,
        metric: `${target.label} req/s`,
        ours: ours.rps,
        baseline: bare.rps,
        ratio: ours.rps / bare.rps,
      },
      '≥ 0.5× bare',
      () => ours.rps / bare.rps >= 0.5,
    );
    report.add({
      phase,
      metric: `${target.label} p50 ms`,
      ours: ours.p50Ms,
      baseline: bare.p50Ms,
    });
    report.goal(
      {
        phase,
        metric: `${target.label} p99 ms`,
        ours: ours.p99Ms,
        baseline: bare.p99Ms,
      },
      '< 20 ms',
      (value) => value < 20,
    );
    report.goal(
      {
        phase,
        metric: `${target.label} errors + unexpected statuses`,
        ours: failures(ours),
        baseline: failures(bare),
      },
      '0',
      (value) => value === 0,
    );
    report.add({
      phase,
      metric: `${target.label} server CPU % of a core`,
      ours: ours.serverCpuPercent,
      baseline: bare.serverCpuPercent,
    });
    if (ours.statementsPerRequest !== undefined) {
      // The baseline sends 2 (the session SELECT and the INSERT).
      report.add({
        phase,
        metric: `${target.label} database statements per request`,
        ours: ours.statementsPerRequest,
        baseline: 2,
      });
    }
  } else {
    report.add({
      phase,
      metric: `${target.label} req/s`,
      ours: ours.rps,
      baseline: bare.rps,
      ratio: ours.rps / bare.rps,
    });
    report.add({
      phase,
      metric: `${target.label} p99 ms`,
      ours: ours.p99Ms,
      baseline: bare.p99Ms,
    });
    report.add({
      phase,
      metric: `${target.label} errors + timeouts + unexpected statuses`,
      ours: failures(ours),
      baseline: failures(bare),
    });
  }
}

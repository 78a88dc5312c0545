import { resolveAccount } from '@keeper/lwa-sandbox';
import { Agent } from 'node:http';
import { header, http, setCookies } from '../lib/http-client';
import { RssWatcher, sampleProcess, settle } from '../lib/proc-stats';
import { mean, percentile, round } from '../lib/stats';
import {
  statementDelta,
  StatementDelta,
  statementSnapshot,
} from '../lib/statement-stats';
import type { BenchContext, WithApi } from './context';

interface FlowResult {
  ok: boolean;
  error?: string;
  account: string;
  outcome?: string;
  connectionId?: string;
  /** Client-observed durations, ms. */
  startMs: number;
  consentMs: number;
  callbackMs: number;
  totalMs: number;
}

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * One admin connecting one advertiser account, as a browser would: `start` (session cookie) →
 * the sandbox's consent URL with `sandbox_auto=allow` → the callback with the binding cookie.
 */
async function oneFlow(
  api: string,
  sessionCookie: string,
  account: string,
  agents: { api: Agent; sandbox: Agent },
): Promise<FlowResult> {
  const result: FlowResult = {
    ok: false,
    account,
    startMs: 0,
    consentMs: 0,
    callbackMs: 0,
    totalMs: 0,
  };
  const t0 = performance.now();
  try {
    const start = await http(`${api}/api/v1/auth/amazon/start?region=na`, {
      headers: { cookie: sessionCookie },
      agent: agents.api,
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    const t1 = performance.now();
    result.startMs = t1 - t0;
    const consentLocation = header(start, 'location');
    const binding = setCookies(start).atk_oauth;
    if (start.status !== 302 || !consentLocation || !binding)
      throw new Error(
        `start answered ${start.status}: ${start.body.slice(0, 200)}`,
      );
    const consentUrl = new URL(consentLocation);
    consentUrl.searchParams.set('sandbox_auto', 'allow');
    consentUrl.searchParams.set('sandbox_account', account);
    const consent = await http(consentUrl, {
      agent: agents.sandbox,
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    const t2 = performance.now();
    result.consentMs = t2 - t1;
    const callbackLocation = header(consent, 'location');
    if (consent.status !== 302 || !callbackLocation)
      throw new Error(
        `the sandbox answered ${consent.status}: ${consent.body.slice(0, 200)}`,
      );
    const callbackUrl = new URL(callbackLocation);
    const callback = await http(
      `${api}${callbackUrl.pathname}${callbackUrl.search}`,
      {
        headers: { cookie: `atk_oauth=${binding}` },
        agent: agents.api,
        timeoutMs: REQUEST_TIMEOUT_MS,
      },
    );
    const t3 = performance.now();
    result.callbackMs = t3 - t2;
    result.totalMs = t3 - t0;
    const target = header(callback, 'location');
    if (callback.status !== 303 || !target)
      throw new Error(
        `callback answered ${callback.status}: ${callback.body.slice(0, 200)}`,
      );
    const targetUrl = new URL(target);
    result.outcome = targetUrl.searchParams.get('connect') ?? undefined;
    result.connectionId =
      targetUrl.searchParams.get('connectionId') ?? undefined;
    if (result.outcome !== 'connected' && result.outcome !== 'reconnected') {
      throw new Error(
        `the flow ended with connect=${result.outcome} (${targetUrl.searchParams.get('reason') ?? ''})`,
      );
    }
    result.ok = true;
  } catch (error) {
    result.error = (error as Error).message;
    result.totalMs = performance.now() - t0;
  }
  return result;
}

/** "n× message" for each distinct message (ids removed), most frequent first. */
function countedMessages(messages: string[]): string[] {
  const counts = new Map<string, number>();
  for (const message of messages) {
    const key = message
      .replace(
        /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
        '…',
      )
      .slice(0, 200);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([message, count]) => `${count}× ${message}`);
}

export interface FlowRun {
  concurrency: number;
  flows: number;
  completed: number;
  errors: number;
  errorSamples: string[];
  wallSeconds: number;
  flowsPerSecond: number;
  totalMs: { p50: number; p99: number; max: number };
  ourMs: { p50: number; p99: number };
  startLegMs: { p50: number; p99: number };
  callbackOurMs: { p50: number; p99: number };
  consentLegMs: { p50: number; p99: number };
  sandboxApiSideMeanMs: number;
  apiCpuPercent: number;
  apiPeakRssMb: number;
  apiLog: { warnings: number; errors: number; samples: string[] };
  /** Database statements per completed flow, and the most frequent ones. */
  statementsPerFlow: number;
  statements: StatementDelta | undefined;
  connectionIds: string[];
}

/** `flows` flows, `concurrency` at a time, each with an account of its own (so each ends `connected`). */
export async function runFlows(
  ctx: BenchContext,
  { api, sessionCookie }: WithApi,
  concurrency: number,
  flows: number,
  deadlineMs: number,
): Promise<FlowRun> {
  const agents = {
    api: new Agent({ keepAlive: true, maxSockets: concurrency }),
    sandbox: new Agent({ keepAlive: true, maxSockets: concurrency }),
  };
  await settle(api.pid);
  api.takeLog();
  ctx.sandbox.clearRequests();
  const statementsBefore = await statementSnapshot(ctx.db);
  const results: FlowResult[] = [];
  let next = 0;
  const deadline = Date.now() + deadlineMs;
  const watcher = new RssWatcher(api.pid);
  const cpuBefore = sampleProcess(api.pid);
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < flows && Date.now() < deadline) {
        const index = next;
        next += 1;
        results.push(
          await oneFlow(
            api.url,
            sessionCookie,
            `bench ${ctx.runTag} c${concurrency} #${index}`,
            agents,
          ),
        );
      }
    }),
  );
  const wallSeconds = (performance.now() - began) / 1000;
  const statements = statementDelta(
    statementsBefore,
    await statementSnapshot(ctx.db),
  );
  const cpuAfter = sampleProcess(api.pid);
  const peakRss = watcher.stop();
  agents.api.destroy();
  agents.sandbox.destroy();

  // The sandbox's own time for the requests the API made during each flow (code exchange and
  // profiles), matched by the account each flow consented as.
  const sandboxTimeByAccount = new Map<string, number>();
  for (const entry of ctx.sandbox.requests()) {
    if (
      (entry.endpoint === 'token' || entry.endpoint === 'profiles') &&
      entry.accountId
    ) {
      sandboxTimeByAccount.set(
        entry.accountId,
        (sandboxTimeByAccount.get(entry.accountId) ?? 0) + entry.durationMs,
      );
    }
  }
  const ok = results.filter((result) => result.ok);
  const sandboxTimes = ok.map(
    (result) =>
      sandboxTimeByAccount.get(resolveAccount(result.account)?.id ?? '') ?? 0,
  );
  const ourTimes = ok.map(
    (result, index) => result.startMs + result.callbackMs - sandboxTimes[index],
  );
  const callbackOur = ok.map(
    (result, index) => result.callbackMs - sandboxTimes[index],
  );
  const apiLog = api.takeLog();
  const p = (values: number[], q: number) => round(percentile(values, q), 1);
  const spread = (values: number[]) => ({
    p50: p(values, 50),
    p99: p(values, 99),
  });
  const errors = results.filter((result) => !result.ok);
  return {
    concurrency,
    flows,
    completed: ok.length,
    // Flows never started before the deadline count as errors too.
    errors: errors.length + (flows - results.length),
    errorSamples: countedMessages(errors.map((result) => result.error ?? '')),
    wallSeconds: round(wallSeconds),
    flowsPerSecond: round(ok.length / wallSeconds, 1),
    totalMs: {
      ...spread(ok.map((r) => r.totalMs)),
      max: p(
        ok.map((r) => r.totalMs),
        100,
      ),
    },
    ourMs: spread(ourTimes),
    startLegMs: spread(ok.map((r) => r.startMs)),
    callbackOurMs: spread(callbackOur),
    consentLegMs: spread(ok.map((r) => r.consentMs)),
    sandboxApiSideMeanMs: round(mean(sandboxTimes), 2),
    apiCpuPercent:
      cpuBefore && cpuAfter
        ? round(
            ((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) /
              ((cpuAfter.at - cpuBefore.at) / 1000)) *
              100,
            1,
          )
        : Number.NaN,
    apiPeakRssMb: round(peakRss / 1024 ** 2, 1),
    apiLog,
    statementsPerFlow: statements
      ? round(statements.calls / Math.max(1, ok.length), 1)
      : Number.NaN,
    statements,
    connectionIds: ok
      .map((result) => result.connectionId ?? '')
      .filter(Boolean),
  };
}

/** Phase 3: complete OAuth flows at 100 and 1,000 concurrent. Answers a connection id for phase 5. */
export async function flowsPhase(
  ctx: BenchContext,
  withApi: WithApi,
): Promise<string | undefined> {
  const runs: Record<string, Omit<FlowRun, 'connectionIds'>> = {};
  ctx.raw.flows = runs;
  let connectionId: string | undefined;
  for (const [concurrency, flows] of [
    [100, ctx.options.flowsAt100],
    [1000, ctx.options.flowsAt1000],
  ] as const) {
    const phase = `3 flows @${concurrency}`;
    try {
      const run = await runFlows(ctx, withApi, concurrency, flows, 45_000);
      const { connectionIds, ...summary } = run;
      connectionId ??= connectionIds[0];
      runs[`@${concurrency}`] = summary;
      const { report } = ctx;
      report.add({
        phase,
        metric: `flows/s (${run.completed}/${flows} done in ${run.wallSeconds} s)`,
        ours: run.flowsPerSecond,
      });
      report.add({
        phase,
        metric: 'flow total p50 / p99 ms',
        ours: `${run.totalMs.p50} / ${run.totalMs.p99}`,
      });
      report.add({
        phase,
        metric: 'flow our time p50 / p99 ms',
        ours: `${run.ourMs.p50} / ${run.ourMs.p99}`,
      });
      if (concurrency === 100) {
        report.goal(
          { phase, metric: 'start leg p99 ms', ours: run.startLegMs.p99 },
          '< 200 ms',
          (value) => value < 200,
        );
        report.goal(
          {
            phase,
            metric: 'callback leg our time p99 ms',
            ours: run.callbackOurMs.p99,
          },
          '< 200 ms',
          (value) => value < 200,
        );
      } else {
        report.add({
          phase,
          metric: 'start leg / callback our time p99 ms',
          ours: `${run.startLegMs.p99} / ${run.callbackOurMs.p99}`,
        });
      }
      report.goal(
        { phase, metric: 'errors', ours: run.errors },
        '0',
        (value) => value === 0,
      );
      report.add({
        phase,
        metric: 'API CPU % of a core / peak RSS MB',
        ours: `${run.apiCpuPercent} / ${run.apiPeakRssMb}`,
      });
      if (concurrency === 100)
        report.add({
          phase,
          metric: 'database statements per flow',
          ours: run.statementsPerFlow,
        });
      if (run.errors > 0)
        report.notes.push(
          `${phase}: ${run.errors} flows failed: ${run.errorSamples.join(' | ')}`,
        );
      if (run.apiLog.errors > 0)
        report.notes.push(
          `${phase}: the API logged ${run.apiLog.errors} errors: ${run.apiLog.samples.join(' | ')}`,
        );
    } catch (error) {
      ctx.report.problem(phase, error);
    }
  }
  return connectionId;
}

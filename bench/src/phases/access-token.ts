import { http } from '../lib/http-client';
import { load } from '../lib/load';
import { sampleProcess } from '../lib/proc-stats';
import { round } from '../lib/stats';
import { statementDelta, statementSnapshot } from '../lib/statement-stats';
import type { BenchContext, WithApi } from './context';

/** Phase 5: `GET /connections/:id/access-token` for a fresh token, with the service key. */
export async function accessTokenPhase(
  ctx: BenchContext,
  { api }: WithApi,
  connectionId: string,
): Promise<void> {
  const url = `${api.url}/api/v1/connections/${connectionId}/access-token`;
  const headers = { authorization: `Bearer ${ctx.settings.serviceKey}` };
  const check = await http(url, { headers });
  const body = JSON.parse(check.body) as {
    accessToken?: string;
    expiresAt?: string;
  };
  if (check.status !== 200 || !body.accessToken?.startsWith('Atza|')) {
    throw new Error(
      `access-token answered ${check.status}: ${check.body.slice(0, 200)}`,
    );
  }
  const tokenCallsBefore = ctx.sandbox.requests({ endpoint: 'token' }).length;
  await load({ url, headers, connections: 100, durationSeconds: 1 });
  const statementsBefore = await statementSnapshot(ctx.db);
  const before = sampleProcess(api.pid);
  const result = await load({
    url,
    headers,
    connections: 100,
    durationSeconds: ctx.options.loadSeconds,
  });
  const after = sampleProcess(api.pid);
  const statements = statementDelta(
    statementsBefore,
    await statementSnapshot(ctx.db),
  );
  const statementsPerRequest = statements
    ? round(statements.calls / Math.max(1, result.requests), 2)
    : NaN;
  const refreshesMeanwhile =
    ctx.sandbox.requests({ endpoint: 'token' }).length - tokenCallsBefore;
  const cpuPercent =
    before && after
      ? round(
          ((after.cpuSeconds - before.cpuSeconds) /
            ((after.at - before.at) / 1000)) *
            100,
          1,
        )
      : NaN;
  ctx.raw.accessToken = {
    ...result,
    cpuPercent,
    refreshesMeanwhile,
    statementsPerRequest,
    statements,
  };
  const phase = '5 access-token @100';
  const { report } = ctx;
  report.add({ phase, metric: 'req/s', ours: result.rps });
  report.add({ phase, metric: 'p50 ms', ours: result.p50Ms });
  report.goal(
    { phase, metric: 'p99 ms', ours: result.p99Ms },
    '< 20 ms',
    (value) => value < 20,
  );
  report.goal(
    {
      phase,
      metric: 'errors + non-200',
      ours: result.errors + result.unexpectedStatus,
    },
    '0',
    (value) => value === 0,
  );
  report.add({
    phase,
    metric: 'API CPU % of a core / LWA calls meanwhile',
    ours: `${cpuPercent} / ${refreshesMeanwhile}`,
  });
  report.add({
    phase,
    metric: 'database statements per request',
    ours: statementsPerRequest,
  });
}

import {
  httpSender,
  prepareFuzzTarget,
  runHttpFuzz,
} from '@keeper/test-support';
import type { BenchContext, WithApi } from './context';

/**
 * Phase 7: the security suite's property-based fuzzer (libs/test-support/src/lib/http-fuzz.ts) against the
 * built API over real sockets, with more cases per property than `npm test` runs
 * (`BENCH_FUZZ_RUNS`, default 2,000; 200 with --quick). A failing property is a FAIL row with
 * its seed, so the case can be replayed with `FUZZ_SEED` in the Jest suite.
 */
export async function fuzzPhase(
  ctx: BenchContext,
  { api }: WithApi,
): Promise<void> {
  const runs =
    Number(process.env.BENCH_FUZZ_RUNS) ||
    (ctx.options.loadSeconds < 5 ? 200 : 2_000);
  const send = httpSender(api.url);
  const target = await prepareFuzzTarget(send, {
    adminPassword: ctx.settings.adminPassword,
    serviceKey: ctx.settings.serviceKey,
    consoleUrl: 'http://127.0.0.1:4200',
  });
  const reports = await runHttpFuzz(target, { runs });
  ctx.raw.fuzz = reports;
  const phase = '7 fuzz';
  const total = reports.reduce((sum, report) => sum + report.runs, 0);
  const failed = reports.filter((report) => report.failed);
  const seconds =
    reports.reduce((sum, report) => sum + report.durationMs, 0) / 1000;
  ctx.report.add({
    phase,
    metric: `properties × cases (${reports.length} × ${runs})`,
    ours: total,
  });
  ctx.report.add({
    phase,
    metric: 'cases/s',
    ours: Math.round(total / Math.max(seconds, 0.001)),
  });
  ctx.report.goal(
    {
      phase,
      metric: 'properties failed (5xx, wrong error shape, unhandled rejection)',
      ours: failed.length,
    },
    '0',
    (value) => value === 0,
  );
  for (const report of failed) {
    ctx.report.notes.push(
      `fuzz ${report.name} failed (seed ${report.seed}): ${report.counterexample ?? ''}`.slice(
        0,
        600,
      ),
    );
  }
}

import { join } from 'node:path';
import { ManagedChild } from '../lib/child';
import { median, round, within } from '../lib/stats';
import type { BenchContext } from './context';

/** Phase 1: encrypt+decrypt round trips per second, @keeper/fernet against the `fernet` npm package. */
export async function fernetPhase(ctx: BenchContext): Promise<void> {
  const child = new ManagedChild('fernet child', process.execPath, [
    '--no-deprecation',
    join(ctx.outDir, 'fernet-child.mjs'),
  ]);
  let line = '';
  child.onStdoutLine((text) => {
    if (text.startsWith('{')) line = text;
  });
  const exit = await within(child.exited, 60_000, 'the Fernet phase').finally(
    () => child.stop(1_000),
  );
  if (exit.code !== 0 || !line)
    throw new Error(
      `the Fernet child failed (exit ${exit.code}):\n${child.output()}`,
    );
  const result = JSON.parse(line) as {
    payloadBytes: number;
    oursRates: number[];
    npmRates: number[];
  };
  const ours = median(result.oursRates);
  const npm = median(result.npmRates);
  ctx.raw.fernet = {
    ...result,
    oursMedian: round(ours),
    npmMedian: round(npm),
  };
  ctx.report.add({
    phase: '1 fernet',
    metric: `encrypt+decrypt round trips/s (${result.payloadBytes} B, median of ${result.oursRates.length})`,
    ours: ours,
    baseline: npm,
    ratio: ours / npm,
    note: 'baseline: fernet npm 0.4.0 (ttl 0)',
  });
}

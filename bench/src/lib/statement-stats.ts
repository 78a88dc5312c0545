import { BENCH_MARK, type BenchDatabase } from './database';

/** Calls per normalised statement in the bench database (pg_stat_statements). */
export type StatementSnapshot = Map<string, number>;

/** The bench's own statements (marked) and the baseline server's, left out of the counts. */
const OWN = new RegExp(`${BENCH_MARK}|bench_bare|pg_stat_statements`);

export async function statementSnapshot(
  db: BenchDatabase,
): Promise<StatementSnapshot | undefined> {
  if (!db.hasStatementStats) return undefined;
  const { rows } = await db.pool.query<{ query: string; calls: string }>(
    `SELECT query, sum(calls) AS calls FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY query`,
  );
  return new Map(
    rows
      .filter((row) => !OWN.test(row.query))
      .map((row) => [row.query, Number(row.calls)]),
  );
}

export interface StatementDelta {
  calls: number;
  /** The most frequent statements meanwhile: calls and the statement's start. */
  top: { calls: number; query: string }[];
}

export function statementDelta(
  before: StatementSnapshot | undefined,
  after: StatementSnapshot | undefined,
): StatementDelta | undefined {
  if (!before || !after) return undefined;
  const deltas: { calls: number; query: string }[] = [];
  for (const [query, calls] of after) {
    const delta = calls - (before.get(query) ?? 0);
    if (delta > 0)
      deltas.push({
        calls: delta,
        query: query.replace(/\s+/g, ' ').slice(0, 160),
      });
  }
  deltas.sort((a, b) => b.calls - a.calls);
  return {
    calls: deltas.reduce((sum, entry) => sum + entry.calls, 0),
    top: deltas.slice(0, 12),
  };
}

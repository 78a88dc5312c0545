import { BENCH_MARK, type BenchDatabase } from './database';

/** Calls and execution time (ms, summed) per normalised statement in the bench database (pg_stat_statements). */
export type StatementSnapshot = Map<string, { calls: number; ms: number }>;

/** The bench's own statements (marked) and the baseline server's, left out of the counts. */
const OWN = new RegExp(`${BENCH_MARK}|bench_bare|pg_stat_statements`);

export async function statementSnapshot(
  db: BenchDatabase,
): Promise<StatementSnapshot | undefined> {
  if (!db.hasStatementStats) return undefined;
  const { rows } = await db.pool.query<{
    query: string;
    calls: string;
    ms: string;
  }>(
    `SELECT query, sum(calls) AS calls, sum(total_exec_time) AS ms FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) GROUP BY query`,
  );
  return new Map(
    rows
      .filter((row) => !OWN.test(row.query))
      .map((row) => [
        row.query,
        { calls: Number(row.calls), ms: Number(row.ms) },
      ]),
  );
}

export interface StatementDelta {
  calls: number;
  /**
   * The most frequent statements meanwhile: calls, PostgreSQL's execution time in ms (summed;
   * parsing and the wire are not in it) and the statement's start.
   */
  top: { calls: number; ms: number; query: string }[];
}

export function statementDelta(
  before: StatementSnapshot | undefined,
  after: StatementSnapshot | undefined,
): StatementDelta | undefined {
  if (!before || !after) return undefined;
  const deltas: StatementDelta['top'] = [];
  for (const [query, { calls, ms }] of after) {
    const earlier = before.get(query);
    const delta = calls - (earlier?.calls ?? 0);
    if (delta > 0)
      deltas.push({
        calls: delta,
        ms: Math.round(ms - (earlier?.ms ?? 0)),
        query: query.replace(/\s+/g, ' ').slice(0, 160),
      });
  }
  deltas.sort((a, b) => b.calls - a.calls);
  return {
    calls: deltas.reduce((sum, entry) => sum + entry.calls, 0),
    top: deltas.slice(0, 12),
  };
}

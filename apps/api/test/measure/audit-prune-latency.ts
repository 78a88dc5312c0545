/**
 * Measures what pruning a large audit backlog does to the API's queries (not a test):
 * 1,000,000 audit events past the retention and 100,000 recent ones in a scratch schema, then
 * the audit page's read and a refresh's audit insert, paced at 100 a second each, first alone
 * and then while the real AuditPruner (default batch size and pause) deletes the backlog.
 * Prints p50/p99/max of both, before and during.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
 *     npx ts-node-transpile-only -P apps/api/tsconfig.app.json apps/api/test/measure/audit-prune-latency.ts
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuditPruner } from '../../src/audit/audit-pruner';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { Database } from '../../src/database/database';

const OLD_ROWS = 1_000_000;
const RECENT_ROWS = 100_000;
const CONNECTIONS = 1_000;
const BASELINE_MS = 15_000;
const PROBE_EVERY_MS = 10;

const url =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `audit_prune_latency_${randomBytes(4).toString('hex')}`;

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `n=${sorted.length} p50=${at(0.5).toFixed(2)} ms p99=${at(0.99).toFixed(2)} ms max=${sorted[sorted.length - 1].toFixed(2)} ms`;
}

/** Paced probes until `until` resolves: the page read and the append, each timed. */
async function probe(
  client: Client,
  connectionIds: string[],
  until: Promise<unknown>,
): Promise<{ read: number[]; append: number[] }> {
  const read: number[] = [];
  const append: number[] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const next = performance.now() + PROBE_EVERY_MS;
    const connectionId =
      connectionIds[Math.floor(Math.random() * connectionIds.length)];
    let start = performance.now();
    await client.query(
      'SELECT * FROM audit_events WHERE connection_id = $1 ORDER BY id DESC LIMIT 51',
      [connectionId],
    );
    read.push(performance.now() - start);
    start = performance.now();
    await client.query(
      `INSERT INTO audit_events (connection_id, type, actor, details)
       VALUES ($1, 'refreshed', 'scheduler', '{"durationMs": 150}')`,
      [connectionId],
    );
    append.push(performance.now() - start);
    const wait = next - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return { read, append };
}

async function main(): Promise<void> {
  const admin = new Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const dataSource = new DataSource(
    dataSourceOptions({ url, schema }, { entities: [], subscribers: [] }),
  );
  const client = new Client({
    connectionString: url,
    options: `-c search_path=${schema}`,
  });
  try {
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    await client.connect();

    const connectionIds = Array.from({ length: CONNECTIONS }, randomUUID);
    await client.query(
      `INSERT INTO connections (id, label, region, status)
       SELECT id, 'bench', 'na', 'active' FROM unnest($1::uuid[]) id`,
      [connectionIds],
    );
    let started = performance.now();
    for (const [rows, fromDays, toDays] of [
      [OLD_ROWS, 200, 100],
      [RECENT_ROWS, 10, 0],
    ]) {
      await client.query(
        `INSERT INTO audit_events (connection_id, type, actor, details, created_at)
         SELECT ($1::uuid[])[1 + g % $2], 'refreshed', 'scheduler', '{"durationMs": 150}',
                now() - make_interval(days => $3) + (g * make_interval(days => $3 - $4)) / $5
           FROM generate_series(1, $5) g`,
        [connectionIds, CONNECTIONS, fromDays, toDays, rows],
      );
    }
    await client.query('VACUUM ANALYZE audit_events');
    console.log(
      `seeded ${OLD_ROWS} old and ${RECENT_ROWS} recent events in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const baseline = await probe(
      client,
      connectionIds,
      new Promise((resolve) => setTimeout(resolve, BASELINE_MS)),
    );

    const pruner = new AuditPruner(Database.of(dataSource), {
      auditRetentionDays: 90,
    });
    started = performance.now();
    const pruning = pruner.run();
    const during = await probe(client, connectionIds, pruning);
    const result = await pruning;
    const seconds = (performance.now() - started) / 1000;

    console.log(
      `pruned ${result.deleted} events in ${result.batches} batches, ${seconds.toFixed(1)} s`,
    );
    console.log(`page read, before: ${summary(baseline.read)}`);
    console.log(`page read, during: ${summary(during.read)}`);
    console.log(`append,    before: ${summary(baseline.append)}`);
    console.log(`append,    during: ${summary(during.append)}`);
  } finally {
    await client.end().catch(() => undefined);
    if (dataSource.isInitialized) await dataSource.destroy();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

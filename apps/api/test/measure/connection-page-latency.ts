/**
 * Measures `GET /connections` at 100,000 connections (not a test): a scratch schema seeded by
 * SQL, the API in process listening on a port, requests one at a time over HTTP. Prints p50/p99
 * and the size of the first page of each sort, a page deep in the list, a search and status
 * filters, and the plans PostgreSQL chooses.
 *
 * Run through jest (it resolves the `@keeper/*` paths the API imports):
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx jest -c apps/api/jest.config.cts \
 *     --testRegex 'measure/connection-page-latency\.ts$' --testTimeout 900000
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createHttpApp } from '../../src/http-app';
import { testConfig } from '../test-app';

const ROWS = 100_000;
const PASSWORD = 'correct horse battery staple';
const url =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `connection_page_${randomBytes(4).toString('hex')}`;

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `n=${sorted.length} p50=${at(0.5).toFixed(1)} ms p99=${at(0.99).toFixed(1)} ms max=${sorted[sorted.length - 1].toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const client = new Client({
    connectionString: url,
    options: `-c search_path=${schema}`,
  });
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  const app = await createHttpApp(
    testConfig({ ADMIN_PASSWORD: PASSWORD, LOG_LEVEL: 'silent' }),
    { url, schema },
  );
  await app.listen(0, '127.0.0.1');
  const base = `${await app.getUrl()}/api/v1`.replace('[::1]', '127.0.0.1');
  try {
    const seeded = performance.now();
    await client.query(
      `INSERT INTO connections (label, region, status, created_at, access_token_expires_at, profiles, amazon_account_ids, profiles_read_at)
       SELECT 'Brand ' || md5(n::text) || ' ' || (ARRAY['Outdoor','Kitchen','Garden','Toys','Books'])[1 + n % 5],
              (ARRAY['na','eu','fe'])[1 + n % 3],
              CASE WHEN n % 100 = 0 THEN 'degraded' WHEN n % 50 = 1 THEN 'needs_reauth' WHEN n % 20 = 2 THEN 'disconnected' ELSE 'active' END,
              now() - make_interval(secs => (${ROWS} - n) * 60),
              CASE WHEN n % 20 = 2 OR n % 50 = 1 THEN NULL ELSE now() + make_interval(secs => 3600 + n % 3000) END,
              jsonb_build_array(
                jsonb_build_object('profileId', (3000000000000 + n)::text, 'countryCode', 'US', 'currencyCode', 'USD',
                  'timezone', 'America/Los_Angeles', 'marketplaceStringId', 'ATVPDKIKX0DER',
                  'accountId', 'ENTITY' || upper(substr(md5('a' || n), 1, 12)), 'accountName', 'Account ' || n, 'accountType', 'seller'),
                jsonb_build_object('profileId', (4000000000000 + n)::text, 'countryCode', 'CA', 'currencyCode', 'CAD',
                  'timezone', 'America/Toronto', 'marketplaceStringId', 'A2EUQ1WTGCTBG2',
                  'accountId', 'ENTITY' || upper(substr(md5('a' || n), 1, 12)), 'accountName', 'Account ' || n, 'accountType', 'seller')),
              ARRAY['ENTITY' || upper(substr(md5('a' || n), 1, 12))],
              now()
         FROM generate_series(1, ${ROWS}) AS n`,
    );
    await client.query('VACUUM ANALYZE connections');
    console.log(
      `seeded ${ROWS} connections in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
    );
    const [{ size }] = (
      await client.query(
        "SELECT pg_size_pretty(pg_total_relation_size('connections')) AS size",
      )
    ).rows;
    console.log(`table with indexes: ${size}`);

    const login = await fetch(`${base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];

    const time = async (query: string, times: number) => {
      const samples: number[] = [];
      let bytes = 0;
      let body: { items: unknown[]; nextCursor: string | null } | undefined;
      for (let i = 0; i < times; i += 1) {
        const started = performance.now();
        const response = await fetch(`${base}/connections${query}`, {
          headers: { cookie },
        });
        const text = await response.text();
        samples.push(performance.now() - started);
        if (response.status !== 200)
          throw new Error(`${query}: ${response.status} ${text}`);
        bytes = Buffer.byteLength(text);
        body = JSON.parse(text);
      }
      console.log(
        `${query || '(first page)'}: ${summary(samples)}, ${(bytes / 1024).toFixed(1)} kB, ${body?.items.length} items`,
      );
      return body;
    };

    await time('', 20); // warm-up
    await time('', 200);
    await time('?limit=200', 50);
    for (const sort of [
      'created',
      '-created',
      'expiry',
      '-expiry',
      'label',
      '-label',
      'status',
      '-status',
    ])
      await time(`?sort=${sort}`, 50);

    // A page deep in the list: the cursor of row ~50,000.
    let cursor: string | null = null;
    for (let i = 0; i < 250; i += 1)
      cursor = (
        await (
          await fetch(
            `${base}/connections?sort=label&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
            { headers: { cookie } },
          )
        ).json()
      ).nextCursor;
    await time(`?sort=label&cursor=${cursor}`, 50);

    await time('?status=degraded', 50);
    await time('?status=needs_reauth&status=degraded&sort=expiry', 50);
    await time('?region=fe&status=active&sort=-label', 50);
    await time(`?q=${encodeURIComponent('Account 99999')}`, 30);
    const [{ account_id }] = (
      await client.query(
        "SELECT amazon_account_ids[1] AS account_id FROM connections WHERE label LIKE '%Garden' ORDER BY created_at DESC LIMIT 1 OFFSET 777",
      )
    ).rows;
    await time(`?q=${account_id.toLowerCase()}`, 30);
    await time('?q=4000000012345', 30);
    await time('?q=no-such-text-anywhere', 30);
    await time('?q=kitchen', 30);

    const plans = {
      'first page created': `SELECT id FROM connections ORDER BY created_at, id LIMIT 51`,
      'first page -expiry': `SELECT id FROM connections ORDER BY COALESCE(access_token_expires_at, 'infinity'::timestamptz) DESC, id DESC LIMIT 51`,
      'first page label': `SELECT id FROM connections ORDER BY lower(label), id LIMIT 51`,
      'first page status': `SELECT id FROM connections ORDER BY (CASE status WHEN 'active' THEN 0 WHEN 'degraded' THEN 1 WHEN 'needs_reauth' THEN 2 WHEN 'disconnected' THEN 3 END), id LIMIT 51`,
      counts: 'SELECT status, count(*) FROM connections GROUP BY status',
      search: `SELECT id FROM connections WHERE strpos(search_text, lower('No-Such')) > 0 ORDER BY created_at, id LIMIT 51`,
    };
    for (const [name, sql] of Object.entries(plans)) {
      const plan = (await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`))
        .rows[0]['QUERY PLAN'][0];
      const nodes: string[] = [];
      const walk = (node: Record<string, unknown>) => {
        nodes.push(
          `${node['Node Type']}${node['Index Name'] ? ` ${node['Index Name']}` : ''}`,
        );
        for (const child of (node.Plans as Record<string, unknown>[]) ?? [])
          walk(child);
      };
      walk(plan.Plan);
      console.log(
        `plan ${name}: ${nodes.join(' > ')} (${plan['Execution Time'].toFixed(2)} ms)`,
      );
    }
  } finally {
    await app.close();
    await client.query(`DROP SCHEMA "${schema}" CASCADE`);
    await client.end();
  }
}

it('measures GET /connections at 100,000 connections', main);

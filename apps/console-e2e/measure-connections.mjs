#!/usr/bin/env node
// Measures the Connections table against an API holding many connections (issue 17): time to
// the first rows, to a search's rows and to a status filter's rows, in headless Chromium, and
// the API's own answer times. Prints numbers; asserts nothing. Needs the builds `npm run e2e`
// makes (dist/apps/{api,console,lwa-sandbox}).
//
//   node apps/console-e2e/measure-connections.mjs [count=100000]
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { ADMIN_PASSWORD, startStack } from './lib/stack.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const COUNT = Number(process.argv[2] || 100_000);
const RUNS = 5;
const say = (line) => process.stdout.write(`${line}\n`);

const stops = [];
const track = (name, stop) => stops.push({ name, stop });
async function cleanUp() {
  for (const { stop } of stops.reverse()) await stop().catch(() => undefined);
}

/** The API's embedded database: its URL from the cluster's password and pid files. */
async function databaseUrl(workDir) {
  const cluster = join(workDir, '.data/postgres');
  const password = (await readFile(`${cluster}.password`, 'utf8')).trim();
  const port = (await readFile(join(cluster, 'postmaster.pid'), 'utf8')).split(
    '\n',
  )[3];
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port.trim()}/postgres`;
}

/** `COUNT` connections: three regions, mostly active, tokens expiring over the next hour. */
async function seed(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = Date.now();
  await client.query(
    `INSERT INTO connections (label, region, status, created_at, access_token_expires_at,
                              failure_count, last_error, profiles, amazon_account_ids, profiles_read_at)
     SELECT 'Account ' || i || ' ' || (ARRAY['Acme','Globex','Initech','Umbrella','Hooli'])[1 + i % 5],
            (ARRAY['na','eu','fe'])[1 + i % 3],
            CASE WHEN i % 50 = 0 THEN 'needs_reauth' WHEN i % 37 = 0 THEN 'degraded'
                 WHEN i % 101 = 0 THEN 'disconnected' ELSE 'active' END,
            timestamptz '2025-01-01T00:00:00Z' + make_interval(secs => i * 60),
            CASE WHEN i % 101 = 0 OR i % 50 = 0 THEN NULL
                 ELSE now() + make_interval(secs => (i * 7919) % 3600) END,
            CASE WHEN i % 37 = 0 THEN 2 WHEN i % 50 = 0 THEN 3 ELSE 0 END,
            CASE WHEN i % 37 = 0 THEN 'Amazon timed out.' WHEN i % 50 = 0 THEN 'invalid_grant' END,
            jsonb_build_array(jsonb_build_object(
              'profileId', (3000000000000000 + i)::text, 'countryCode', 'US', 'currencyCode', 'USD',
              'timezone', 'America/Los_Angeles', 'marketplaceStringId', 'ATVPDKIKX0DER',
              'accountId', 'A' || i, 'accountName', 'Brand ' || i, 'accountType', 'seller')),
            ARRAY['A' || i],
            now()
       FROM generate_series(1, $1::int) AS i`,
    [COUNT],
  );
  await client.query('ANALYZE connections');
  await client.end();
  return Date.now() - started;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const summary = (values) =>
  `median ${median(values)} ms (runs: ${values.join(', ')} ms)`;

async function main() {
  const workDir = await mkdtemp(join(tmpdir(), 'atk-measure-'));
  track('work dir', () => rm(workDir, { recursive: true, force: true }));
  // As root the embedded PostgreSQL runs as its own user, which must enter it (as in run.mjs).
  await chmod(workDir, 0o755);
  const logDir = join(workDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const stack = await startStack({ root, workDir, logDir, track });
  say(`stack up: console ${stack.webUrl}`);
  const seeded = await seed(await databaseUrl(workDir));
  say(`seeded ${COUNT} connections in ${seeded} ms`);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  track('chromium', () => browser.close());
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
  });
  const page = await context.newPage();
  await page.goto(`${stack.webUrl}/login`);
  await page.getByLabel('Admin password', { exact: true }).fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.waitForURL((url) => url.pathname === '/connections');
  await page.locator('tr.connection-row').first().waitFor();

  // The API alone, with the browser's session cookie.
  const api = async (query) => {
    const times = [];
    for (let run = 0; run < RUNS; run++) {
      const started = performance.now();
      const answer = await page.request.get(
        `${stack.webUrl}/api/v1/connections${query}`,
      );
      await answer.body();
      times.push(Math.round(performance.now() - started));
      if (!answer.ok()) throw new Error(`${query}: ${answer.status()}`);
    }
    return times;
  };
  for (const query of [
    '',
    '?q=brand%204242',
    '?q=account%2099',
    '?status=needs_reauth',
    '?status=degraded&status=needs_reauth',
    '?sort=-expiry',
    '?sort=label',
    '?region=eu&sort=status',
    '?limit=200',
  ]) {
    say(`API GET /connections${query}: ${summary(await api(query))}`);
  }

  // Time to first rows: a fresh load of the page (the app is cached after the first run).
  const firstRows = [];
  for (let run = 0; run < RUNS; run++) {
    const started = Date.now();
    await page.goto(`${stack.webUrl}/connections`);
    await page.locator('tr.connection-row').first().waitFor();
    firstRows.push(Date.now() - started);
  }
  say(`browser: load /connections to the first rows: ${summary(firstRows)}`);

  // A search: from the last keystroke to its rows (the 250 ms debounce included), and the
  // API's share of it.
  const search = page.getByRole('searchbox', { name: 'Search' });
  const searches = [];
  const searchApi = [];
  for (let run = 0; run < RUNS; run++) {
    const term = `brand ${4242 + run * 1000}`;
    const answered = page.waitForResponse(
      (response) =>
        response.url().includes('/api/v1/connections?') &&
        response.url().includes('q='),
    );
    const started = Date.now();
    await search.fill(term);
    const response = await answered;
    const apiDone = Date.now();
    await page.waitForFunction(
      (wanted) =>
        Array.from(document.querySelectorAll('tr.connection-row a.label')).some(
          (link) => link.textContent?.includes(wanted),
        ),
      `Account ${4242 + run * 1000} `,
      { polling: 'raf' },
    );
    searches.push(Date.now() - started);
    const timing = response.request().timing();
    searchApi.push(Math.round(timing.responseEnd - timing.requestStart));
    void apiDone;
    await search.fill('');
    await page.locator('tr.connection-row').nth(10).waitFor();
  }
  say(
    `browser: search, last keystroke to its rows (250 ms debounce included): ${summary(searches)}`,
  );
  say(`browser: search, its API request: ${summary(searchApi)}`);

  // A status filter: from the chip's click to its rows, split into the click to the request,
  // the request, and its answer to the rows on screen (in the page's own clock).
  const filters = [];
  const parts = { toRequest: [], request: [], toRows: [] };
  // Let the page finish what the search left (rendering, the search box's last debounce).
  await page.waitForTimeout(Number(process.env.SETTLE_MS ?? 1000));
  for (let run = 0; run < RUNS; run++) {
    await page.evaluate(() => performance.clearResourceTimings());
    const clickedAt = await page.evaluate(() => {
      const chip = document.querySelector(
        'mat-chip-option[data-status="needs_reauth"] [role="option"]',
      );
      const at = performance.now();
      /** @type {HTMLElement} */ (chip).click();
      return at;
    });
    const shownAt = await page.waitForFunction(
      () => {
        const chips = Array.from(
          document.querySelectorAll('tr.connection-row atk-status-chip'),
        );
        return chips.length > 0 &&
          chips.every(
            (chip) => chip.getAttribute('data-status') === 'needs_reauth',
          )
          ? performance.now()
          : false;
      },
      undefined,
      { polling: 'raf' },
    );
    const shown = /** @type {number} */ (await shownAt.jsonValue());
    const entry = await page.evaluate(() => {
      const found = /** @type {PerformanceResourceTiming[]} */ (
        performance.getEntriesByType('resource')
      )
        .filter((e) => e.name.includes('/api/v1/connections?status='))
        .at(-1);
      return found ? { start: found.startTime, end: found.responseEnd } : null;
    });
    filters.push(Math.round(shown - clickedAt));
    if (entry) {
      parts.toRequest.push(Math.round(entry.start - clickedAt));
      parts.request.push(Math.round(entry.end - entry.start));
      parts.toRows.push(Math.round(shown - entry.end));
    }
    await page
      .getByRole('listbox', { name: 'Filter by status' })
      .getByRole('option', { name: /^Needs re-auth/ })
      .click();
    await page.waitForFunction(
      () =>
        Array.from(
          document.querySelectorAll('tr.connection-row atk-status-chip'),
        ).some((chip) => chip.getAttribute('data-status') === 'active'),
      undefined,
      { polling: 'raf' },
    );
  }
  say(`browser: status filter click to its rows: ${summary(filters)}`);
  say(`  click to request start: ${summary(parts.toRequest)}`);
  say(`  request: ${summary(parts.request)}`);
  say(`  answer to rows on screen: ${summary(parts.toRows)}`);

  // Paging forward a few pages by cursor.
  const pages = [];
  for (let run = 0; run < RUNS; run++) {
    const before = await page
      .locator('tr.connection-row a.label')
      .first()
      .innerText();
    const started = Date.now();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForFunction(
      (previous) =>
        document
          .querySelector('tr.connection-row a.label')
          ?.textContent?.trim() !== previous,
      before.trim(),
      { polling: 'raf' },
    );
    pages.push(Date.now() - started);
  }
  say(`browser: Next page click to its rows: ${summary(pages)}`);
}

main()
  .catch((error) => {
    say(`failed: ${error.stack ?? error}`);
    process.exitCode = 1;
  })
  .finally(cleanUp);

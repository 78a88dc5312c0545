import { Fernet, keyIdOf } from '@keeper/fernet';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { ApiProcess } from '../lib/api-process';
import { ManagedChild } from '../lib/child';
import { header, http } from '../lib/http-client';
import { load, LoadResult, LoadSpec, paced } from '../lib/load';
import { MetricSample } from '../lib/metrics-text';
import { RssWatcher, sampleProcess, settle } from '../lib/proc-stats';
import { median, round, sleep, within } from '../lib/stats';
import type { BenchContext } from './context';

const CONNECTIONS = 100;
const LABEL_PREFIX = 'bench-proxy-';
const FAR_AWAY_CRON = '0 0 0 1 1 *';
const MB = 1024 ** 2;
const DOWNLOAD_BYTES = 50 * MB;
const REPORT_TYPE = 'application/vnd.createasyncreportrequest.v3+json';
const REPORT_REQUEST = JSON.stringify({
  name: 'bench proxy',
  startDate: '2026-01-01',
  endDate: '2026-01-07',
  configuration: {
    adProduct: 'SPONSORED_PRODUCTS',
    groupBy: ['campaign'],
    columns: ['impressions', 'clicks', 'cost'],
    reportTypeId: 'spCampaigns',
    timeUnit: 'DAILY',
    format: 'GZIP_JSON',
  },
});
const OVERHEAD_METRIC = 'atk_ads_proxy_overhead_seconds';
/**
 * The steady load of the latency comparison: about a quarter of what the keeper answers at
 * saturation on a 2-core machine, so neither side queues and the difference is the keeper's
 * own time per call.
 */
const STEADY_RATE = 1_000;
/** Rounds of the saturated comparison (direct, keeper, bare proxy; `BENCH_LOAD_SECONDS` each). */
const SATURATED_ROUNDS = 3;

export interface SandboxChild {
  child: ManagedChild;
  url: string;
  clientId: string;
  clientSecret: string;
}

/** One seeded connection: its id in the keeper, the token the sandbox issued it, a profile. */
export interface Seeded {
  id: string;
  accessToken: string;
  profileId: string;
}

async function startSandboxChild(ctx: BenchContext): Promise<SandboxChild> {
  const child = new ManagedChild(
    'sandbox (proxy phase)',
    process.execPath,
    [join(ctx.outDir, 'sandbox-server.mjs')],
    { env: { ...process.env, NODE_ENV: 'test' } },
  );
  const found = await within(
    new Promise<Omit<SandboxChild, 'child'>>((resolve, reject) => {
      child.onStdoutLine((line) => {
        if (line.startsWith('listening '))
          resolve(JSON.parse(line.slice('listening '.length)));
      });
      void child.exited.then(() =>
        reject(new Error(`the sandbox exited:\n${child.output()}`)),
      );
    }),
    30_000,
    'starting the sandbox process',
  );
  return { child, ...found };
}

async function control(
  sandbox: SandboxChild,
  method: string,
  path: string,
  body: unknown,
): Promise<unknown> {
  const answer = await http(`${sandbox.url}/__sandbox/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (answer.status >= 300)
    throw new Error(
      `sandbox ${method} ${path} answered ${answer.status}: ${answer.body}`,
    );
  return JSON.parse(answer.body) as unknown;
}

/**
 * 100 connections with tokens the sandbox issued (an account of their own each), their profiles
 * as the keeper stores them (read straight from the sandbox with the token, which also checks the
 * direct path), encrypted under the API's key with its key id as the refresh phase seeds them.
 * Their tokens have 55 minutes left: fresh for the keeper, alive at the sandbox.
 */
export async function seedConnections(
  ctx: BenchContext,
  sandbox: SandboxChild,
): Promise<Seeded[]> {
  const fernet = new Fernet(ctx.settings.fernetKey);
  const rows: {
    label: string;
    access: string;
    refresh: string;
    accountId: string;
    profiles: string;
    token: string;
    profileId: string;
  }[] = [];
  for (let index = 0; index < CONNECTIONS; index += 1) {
    const tokens = (await control(sandbox, 'POST', 'tokens', {
      account: `Bench proxy ${ctx.runTag} ${index}`,
    })) as { access_token: string; refresh_token: string; accountId: string };
    const answer = await http(`${sandbox.url}/v2/profiles`, {
      headers: {
        authorization: `Bearer ${tokens.access_token}`,
        'amazon-advertising-api-clientid': sandbox.clientId,
      },
    });
    if (answer.status !== 200)
      throw new Error(
        `the sandbox's /v2/profiles answered ${answer.status}: ${answer.body.slice(0, 200)}`,
      );
    // Profile ids are JSON numbers of up to 16 digits: read them as strings, as the API does.
    const profiles = (
      JSON.parse(
        answer.body.replace(/("profileId"\s*:\s*)(\d+)/g, '$1"$2"'),
      ) as {
        profileId: string;
        countryCode: string;
        currencyCode: string;
        timezone: string;
        accountInfo: {
          marketplaceStringId: string;
          id: string;
          name: string;
          type: string;
        };
      }[]
    ).map((profile) => ({
      profileId: profile.profileId,
      countryCode: profile.countryCode,
      currencyCode: profile.currencyCode,
      timezone: profile.timezone,
      marketplaceStringId: profile.accountInfo.marketplaceStringId,
      accountId: profile.accountInfo.id,
      accountName: profile.accountInfo.name,
      accountType: profile.accountInfo.type,
    }));
    if (profiles.length === 0)
      throw new Error('the sandbox listed no profiles for a bench account');
    rows.push({
      label: `${LABEL_PREFIX}${index}`,
      access: fernet.encrypt(tokens.access_token),
      refresh: fernet.encrypt(tokens.refresh_token),
      accountId: tokens.accountId,
      profiles: JSON.stringify(profiles),
      token: tokens.access_token,
      profileId: profiles[0].profileId,
    });
  }
  const { rows: inserted } = await ctx.db.pool.query<{
    id: string;
    label: string;
  }>(
    `INSERT INTO connections (label, region, status, access_token_ciphertext, refresh_token_ciphertext, key_id,
                              access_token_expires_at, last_refreshed_at, amazon_account_ids, profiles, profiles_read_at)
     SELECT v.label, 'na', 'active', v.access, v.refresh, $4, now() + interval '55 minutes', now(),
            ARRAY[v.account], v.profiles::jsonb, now()
     FROM unnest($1::text[], $2::text[], $3::text[], $5::text[], $6::text[]) AS v(label, access, refresh, account, profiles)
     RETURNING id, label`,
    [
      rows.map((row) => row.label),
      rows.map((row) => row.access),
      rows.map((row) => row.refresh),
      keyIdOf(ctx.settings.fernetKey),
      rows.map((row) => row.accountId),
      rows.map((row) => row.profiles),
    ],
  );
  const idOf = new Map(inserted.map((row) => [row.label, row.id]));
  return rows.map((row) => ({
    id: idOf.get(row.label) as string,
    accessToken: row.token,
    profileId: row.profileId,
  }));
}

/** A GET whose body is counted as it streams, never kept; no redirects followed. */
function countBody(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; bytes: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes,
          seconds: (performance.now() - began) / 1000,
        }),
      );
      res.on('error', reject);
    });
    req.setTimeout(60_000, () =>
      req.destroy(new Error(`no answer within 60 s from ${url}`)),
    );
    req.on('error', reject);
    req.end();
  });
}

/** Count, sum and the bucket holding the 99th percentile of the overhead histogram. */
function overheadOf(samples: MetricSample[]): {
  count: number;
  sum: number;
  buckets: Map<number, number>;
} {
  const buckets = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const sample of samples) {
    if (sample.name === `${OVERHEAD_METRIC}_bucket`)
      buckets.set(
        Number(sample.labels.le),
        (buckets.get(Number(sample.labels.le)) ?? 0) + sample.value,
      );
    else if (sample.name === `${OVERHEAD_METRIC}_count`) count += sample.value;
    else if (sample.name === `${OVERHEAD_METRIC}_sum`) sum += sample.value;
  }
  return { count, sum, buckets };
}

/** The API's own view of the keeper's added time over a run: mean, and p99 as a bucket bound. */
function overheadDelta(
  before: MetricSample[],
  after: MetricSample[],
): { calls: number; meanMs: number; p99AtMostMs: number } {
  const a = overheadOf(before);
  const b = overheadOf(after);
  const calls = b.count - a.count;
  const bounds = [...b.buckets.keys()].sort((x, y) => x - y);
  const p99Bound = bounds.find(
    (le) => (b.buckets.get(le) ?? 0) - (a.buckets.get(le) ?? 0) >= calls * 0.99,
  );
  return {
    calls,
    meanMs: calls > 0 ? round(((b.sum - a.sum) / calls) * 1000, 3) : NaN,
    p99AtMostMs: p99Bound === undefined ? NaN : p99Bound * 1000,
  };
}

type Measured = LoadResult & {
  apiCpuPercent: number;
  sandboxCpuPercent: number;
};

/**
 * Rounds of one side as one run: requests and time summed (so req/s is over all of them),
 * errors and statuses summed, latency percentiles and CPU the median of the rounds.
 */
function merged(runs: Measured[]): Measured {
  const middle = (pick: (run: Measured) => number) => median(runs.map(pick));
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const durationSeconds = runs.reduce(
    (sum, run) => sum + run.durationSeconds,
    0,
  );
  const statusCodes: Record<string, number> = {};
  for (const run of runs)
    for (const [status, count] of Object.entries(run.statusCodes))
      statusCodes[status] = (statusCodes[status] ?? 0) + count;
  return {
    connections: runs[0].connections,
    durationSeconds,
    requests,
    rps: requests / durationSeconds,
    p50Ms: middle((run) => run.p50Ms),
    p90Ms: middle((run) => run.p90Ms),
    p99Ms: middle((run) => run.p99Ms),
    maxMs: Math.max(...runs.map((run) => run.maxMs)),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    timeouts: runs.reduce((sum, run) => sum + run.timeouts, 0),
    unexpectedStatus: runs.reduce((sum, run) => sum + run.unexpectedStatus, 0),
    statusCodes,
    apiCpuPercent: middle((run) => run.apiCpuPercent),
    sandboxCpuPercent: middle((run) => run.sandboxCpuPercent),
  };
}

async function measured(
  spec: LoadSpec,
  api: ApiProcess,
  sandbox: SandboxChild,
): Promise<Measured> {
  const cpu = (pid: number, before?: ReturnType<typeof sampleProcess>) => {
    const after = sampleProcess(pid);
    return before && after
      ? round(
          ((after.cpuSeconds - before.cpuSeconds) /
            ((after.at - before.at) / 1000)) *
            100,
          1,
        )
      : NaN;
  };
  const apiBefore = sampleProcess(api.pid);
  const sandboxBefore = sampleProcess(sandbox.child.pid);
  const result = await load(spec);
  return {
    ...result,
    apiCpuPercent: cpu(api.pid, apiBefore),
    sandboxCpuPercent: cpu(sandbox.child.pid, sandboxBefore),
  };
}

/**
 * Phase 9: the Ads API proxy (README, "Call the Ads API through the keeper"), on an API and a
 * sandbox of their own.
 * (a) `GET /v2/profiles` for 100 connections, round robin, 100 at a time: straight to the
 *     sandbox with each connection's token, then through the keeper with the service key; the
 *     keeper's added p99 and its share of the direct throughput.
 * (b) a report created, read and its download redirect fetched through the keeper, the 50 MB
 *     download fetched straight from its URL (as a job does), and a 50 MB report body streamed
 *     through the keeper while the API's RSS is sampled.
 */
export async function proxyPhase(ctx: BenchContext): Promise<void> {
  await withProxyRig(ctx, { name: 'proxy' }, (api, sandbox) =>
    run(ctx, api, sandbox),
  );
}

/**
 * A sandbox process and an API pointed at it (no sweep), for `use`; both stopped after it.
 * Phase 9 and the proxy part of `--profile` (with its `--cpu-prof` options) run in one.
 */
export async function withProxyRig(
  ctx: BenchContext,
  start: { name: string; nodeArgs?: string[] },
  use: (api: ApiProcess, sandbox: SandboxChild) => Promise<void>,
): Promise<void> {
  const sandbox = await startSandboxChild(ctx);
  let api: ApiProcess | undefined;
  try {
    api = await ApiProcess.start(
      {
        ...ctx.settings,
        sandbox: {
          url: sandbox.url,
          clientId: sandbox.clientId,
          clientSecret: sandbox.clientSecret,
        },
      },
      { ...start, refreshCron: FAR_AWAY_CRON },
    );
    await use(api, sandbox);
  } finally {
    await api?.stop();
    await sandbox.child.stop();
  }
}

/** `GET /v2/profiles` through the keeper with the service key, round robin over `seeded`. */
export function keeperCalls(
  api: ApiProcess,
  seeded: Seeded[],
  serviceKey: string,
): (durationSeconds: number) => LoadSpec & {
  next: NonNullable<LoadSpec['next']>;
} {
  let next = 0;
  return (durationSeconds) => ({
    url: api.url,
    connections: CONNECTIONS,
    durationSeconds,
    next: () => ({
      path: `/api/v1/connections/${seeded[next++ % seeded.length].id}/ads/v2/profiles`,
      headers: { authorization: `Bearer ${serviceKey}` },
    }),
  });
}

async function run(
  ctx: BenchContext,
  api: ApiProcess,
  sandbox: SandboxChild,
): Promise<void> {
  const { report } = ctx;
  const seeded = await seedConnections(ctx, sandbox);
  const serviceKey = `Bearer ${ctx.settings.serviceKey}`;
  const viaKeeper = (connection: Seeded, path: string) =>
    `${api.url}/api/v1/connections/${connection.id}/ads${path}`;

  // The keeper must answer what the sandbox answers, before anything is timed.
  const first = seeded[0];
  const direct = await http(`${sandbox.url}/v2/profiles`, {
    headers: {
      authorization: `Bearer ${first.accessToken}`,
      'amazon-advertising-api-clientid': sandbox.clientId,
    },
  });
  const proxied = await http(viaKeeper(first, '/v2/profiles'), {
    headers: { authorization: serviceKey },
  });
  if (proxied.status !== 200 || proxied.body !== direct.body)
    throw new Error(
      `GET /v2/profiles through the keeper answered ${proxied.status} (${header(proxied, 'x-keeper-error') ?? 'no x-keeper-error'}): ${proxied.body.slice(0, 200)}`,
    );

  let nextDirect = 0;
  const directSpec = (
    durationSeconds: number,
    url = sandbox.url,
  ): LoadSpec & { next: NonNullable<LoadSpec['next']> } => ({
    url,
    connections: CONNECTIONS,
    durationSeconds,
    next: () => {
      const connection = seeded[nextDirect++ % seeded.length];
      return {
        path: '/v2/profiles',
        headers: {
          authorization: `Bearer ${connection.accessToken}`,
          'amazon-advertising-api-clientid': sandbox.clientId,
        },
      };
    },
  });
  const keeperSpec = keeperCalls(api, seeded, ctx.settings.serviceKey);
  // Straight, through the keeper and through a bare node:http proxy (Node's own ceiling), in
  // alternating rounds: this machine's speed drifts by half within minutes, so each side is
  // sampled across the same minutes and the ratios compare like with like.
  const bare = await startBareProxy(ctx, sandbox.url);
  const rounds: Record<'direct' | 'keeper' | 'bare', Measured[]> = {
    direct: [],
    keeper: [],
    bare: [],
  };
  let overhead: ReturnType<typeof overheadDelta>;
  try {
    // Warm-ups (JIT, keep-alive pools on both hops), then each run after the servers are quiet.
    await load(directSpec(1));
    await load(keeperSpec(1));
    await load(directSpec(1, bare.url));
    await settle(api.pid);
    const metricsBefore = await api.metrics();
    for (let round = 0; round < SATURATED_ROUNDS; round += 1) {
      await settle(sandbox.child.pid);
      rounds.direct.push(
        await measured(directSpec(ctx.options.loadSeconds), api, sandbox),
      );
      await settle(sandbox.child.pid);
      rounds.keeper.push(
        await measured(keeperSpec(ctx.options.loadSeconds), api, sandbox),
      );
      await settle(bare.child.pid);
      rounds.bare.push(
        await measured(
          directSpec(ctx.options.loadSeconds, bare.url),
          api,
          sandbox,
        ),
      );
    }
    overhead = overheadDelta(metricsBefore, await api.metrics());
  } finally {
    await bare.child.stop();
  }
  const directRun = merged(rounds.direct);
  const keeperRun = merged(rounds.keeper);
  const bareRun = merged(rounds.bare);
  const roundRatios = (side: Measured[]) =>
    side
      .map((run, index) => round(run.rps / rounds.direct[index].rps, 2))
      .join(', ');
  // The same calls at a steady rate: the keeper's added time per call without a queue.
  await settle(api.pid);
  await settle(sandbox.child.pid);
  const directSteady = await paced({
    ...directSpec(ctx.options.loadSeconds),
    rate: STEADY_RATE,
  });
  await settle(sandbox.child.pid);
  const keeperSteady = await paced({
    ...keeperSpec(ctx.options.loadSeconds),
    rate: STEADY_RATE,
  });
  // The keeper's own part alone (the token lookup every proxied call makes), at the same moment:
  // tells a slow proxy from a machine too busy for the API.
  let nextToken = 0;
  await settle(api.pid);
  const tokenRun = await measured(
    {
      url: api.url,
      connections: CONNECTIONS,
      durationSeconds: ctx.options.loadSeconds,
      next: () => ({
        path: `/api/v1/connections/${seeded[nextToken++ % seeded.length].id}/access-token`,
        headers: { authorization: serviceKey },
      }),
    },
    api,
    sandbox,
  );
  const apiLog = api.takeLog();
  if (apiLog.errors + apiLog.warnings > 0)
    report.notes.push(
      `9 proxy: the API logged ${apiLog.errors} errors and ${apiLog.warnings} warnings under load: ${apiLog.samples.join(' | ')}`,
    );

  const phase = '9 proxy @100';
  const ratio = round(keeperRun.rps / directRun.rps, 2);
  const addedP99 = round(keeperRun.p99Ms - directRun.p99Ms, 1);
  report.add({
    phase,
    metric: 'GET /v2/profiles req/s (keeper vs direct)',
    ours: round(keeperRun.rps, 0),
    baseline: round(directRun.rps, 0),
    ratio,
    note: `rounds: ${roundRatios(rounds.keeper)}`,
    goal: '≥ 0.5× direct',
    pass: Number.isFinite(ratio) ? ratio >= 0.5 : null,
  });
  report.add({
    phase,
    metric: 'p50 ms',
    ours: keeperRun.p50Ms,
    baseline: directRun.p50Ms,
  });
  report.add({
    phase,
    metric: 'p99 ms',
    ours: keeperRun.p99Ms,
    baseline: directRun.p99Ms,
  });
  report.goal(
    {
      phase,
      metric: 'added p99 ms (keeper − direct), both saturated',
      ours: addedP99,
    },
    '< 5 ms',
    (value) => value < 5,
  );
  report.goal(
    {
      phase,
      metric: `added p99 ms (keeper − direct), both at ${STEADY_RATE.toLocaleString('en-US')} req/s`,
      ours: round(keeperSteady.p99Ms - directSteady.p99Ms, 1),
      note: `p50 ${keeperSteady.p50Ms} vs ${directSteady.p50Ms} ms, p99 ${keeperSteady.p99Ms} vs ${directSteady.p99Ms} ms; ${round(keeperSteady.rps, 0)} vs ${round(directSteady.rps, 0)} req/s; ${keeperSteady.errors + keeperSteady.unexpectedStatus} / ${directSteady.errors + directSteady.unexpectedStatus} errors`,
    },
    '< 5 ms',
    (value) => value < 5,
  );
  report.goal(
    {
      phase,
      metric: 'errors + non-200 (keeper / direct)',
      ours:
        keeperRun.errors +
        keeperRun.unexpectedStatus +
        directRun.errors +
        directRun.unexpectedStatus,
      note: `${keeperRun.errors + keeperRun.unexpectedStatus} / ${directRun.errors + directRun.unexpectedStatus}`,
    },
    '0',
    (value) => value === 0,
  );
  report.add({
    phase,
    metric: `API's own overhead (${OVERHEAD_METRIC}): mean ms / p99 ≤ ms`,
    ours: `${overhead.meanMs} / ${overhead.p99AtMostMs}`,
  });
  report.add({
    phase,
    metric: 'CPU % of a core, keeper run: API / sandbox (direct: sandbox)',
    ours: `${keeperRun.apiCpuPercent} / ${keeperRun.sandboxCpuPercent}`,
    baseline: directRun.sandboxCpuPercent,
  });

  report.add({
    phase,
    metric: 'reference: a bare node:http proxy, req/s vs direct',
    ours: round(bareRun.rps, 0),
    baseline: round(directRun.rps, 0),
    ratio: round(bareRun.rps / directRun.rps, 2),
    note: `rounds: ${roundRatios(rounds.bare)}; p99 ${bareRun.p99Ms} ms; ${bareRun.errors + bareRun.unexpectedStatus} errors`,
  });
  report.add({
    phase,
    metric: 'reference: GET /connections/:id/access-token req/s / p99 ms',
    ours: `${round(tokenRun.rps, 0)} / ${tokenRun.p99Ms}`,
  });
  const download = await downloads(ctx, api, sandbox, first, viaKeeper);
  ctx.raw.proxy = {
    direct: directRun,
    keeper: keeperRun,
    rounds,
    accessToken: tokenRun,
    bareProxy: bareRun,
    steady: { direct: directSteady, keeper: keeperSteady },
    overhead,
    download,
  };
}

async function downloads(
  ctx: BenchContext,
  api: ApiProcess,
  sandbox: SandboxChild,
  connection: Seeded,
  viaKeeper: (connection: Seeded, path: string) => string,
) {
  const { report } = ctx;
  const phase = '9 proxy 50 MB';
  const headers = {
    authorization: `Bearer ${ctx.settings.serviceKey}`,
    'amazon-advertising-api-scope': connection.profileId,
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const completedReport = async () => {
    const created = await http(viaKeeper(connection, '/reporting/reports'), {
      method: 'POST',
      headers: { ...headers, 'content-type': REPORT_TYPE },
      body: REPORT_REQUEST,
      agent,
    });
    const reportId = (JSON.parse(created.body) as { reportId?: string })
      .reportId;
    if (created.status !== 200 || !reportId)
      throw new Error(
        `POST /reporting/reports through the keeper answered ${created.status}: ${created.body.slice(0, 200)}`,
      );
    const status = await http(
      viaKeeper(connection, `/reporting/reports/${reportId}`),
      { headers, agent },
    );
    const body = JSON.parse(status.body) as {
      status?: string;
      fileSize?: number;
    };
    if (status.status !== 200 || body.status !== 'COMPLETED')
      throw new Error(
        `GET /reporting/reports/:id through the keeper answered ${status.status}: ${status.body.slice(0, 200)}`,
      );
    return { reportId, fileSize: body.fileSize };
  };

  // Warm-up: the first report and body through the keeper load what the measured one reuses.
  await control(sandbox, 'PATCH', 'settings', { reportBytes: 64 * 1024 });
  const warm = await completedReport();
  await countBody(
    viaKeeper(connection, `/v2/reports/${warm.reportId}/body`),
    headers,
  );

  await control(sandbox, 'PATCH', 'settings', { reportBytes: DOWNLOAD_BYTES });
  const { reportId, fileSize } = await completedReport();
  const redirect = await http(
    viaKeeper(connection, `/v2/reports/${reportId}/download`),
    { headers, agent },
  );
  agent.destroy();
  const location = header(redirect, 'location');
  report.goal(
    {
      phase,
      metric: 'report create → status → download through the keeper: status',
      ours: redirect.status,
      note: `fileSize ${fileSize}`,
    },
    '307 with Location',
    (value) => value === 307 && location !== undefined,
  );
  if (!location)
    throw new Error(
      `GET /v2/reports/:id/download through the keeper answered ${redirect.status} without Location`,
    );
  // As a job does: the presigned URL straight, without Authorization (S3 refuses it).
  const straight = await countBody(location, {});
  report.goal(
    {
      phase,
      metric: 'presigned download straight (no Authorization): MB',
      ours: round(straight.bytes / MB, 1),
      note: `status ${straight.status}`,
    },
    '= 50 MB, 200',
    (value) => value === 50 && straight.status === 200,
  );

  const bodyPath = `/v2/reports/${reportId}/body`;
  const keeper = await streamedWithRss(api.pid, () =>
    countBody(viaKeeper(connection, bodyPath), headers),
  );
  const streamed = keeper.streamed;
  // The same body again: what a process that has streamed one keeps and reuses.
  const keeperAgain = await streamedWithRss(api.pid, () =>
    countBody(viaKeeper(connection, bodyPath), headers),
  );
  // Node's own share: the same warm-up and body through a bare node:http proxy.
  const bare = await startBareProxy(ctx, sandbox.url);
  let bareRun: Awaited<ReturnType<typeof streamedWithRss>>;
  try {
    const bareHeaders = {
      authorization: `Bearer ${connection.accessToken}`,
      'amazon-advertising-api-clientid': sandbox.clientId,
      'amazon-advertising-api-scope': connection.profileId,
    };
    await countBody(
      `${bare.url}/v2/reports/${warm.reportId}/body`,
      bareHeaders,
    );
    bareRun = await streamedWithRss(bare.child.pid, () =>
      countBody(`${bare.url}${bodyPath}`, bareHeaders),
    );
  } finally {
    await bare.child.stop();
  }
  const { beforeMb, peakMb, afterMb, growthMb } = keeper.rss;
  const mbPerSecond = round(streamed.bytes / MB / streamed.seconds, 0);
  report.goal(
    {
      phase,
      metric: '50 MB body streamed through the keeper: MB',
      ours: round(streamed.bytes / MB, 1),
      note: `status ${streamed.status}`,
    },
    '= 50 MB, 200',
    (value) => value === 50 && streamed.status === 200,
  );
  const straightMbPerSecond = round(straight.bytes / MB / straight.seconds, 0);
  report.add({
    phase,
    metric: 'MB/s: body through the keeper vs presigned download straight',
    ours: mbPerSecond,
    baseline: straightMbPerSecond,
    ratio: round(mbPerSecond / straightMbPerSecond, 2),
  });
  report.add({
    phase,
    metric: 'API RSS before / peak (10 ms samples) / 1 s after, MB',
    ours: `${beforeMb} / ${peakMb} / ${afterMb}`,
  });
  report.goal(
    { phase, metric: 'API RSS growth while streaming MB', ours: growthMb },
    '< 20 MB',
    (value) => value < 20,
  );
  report.add({
    phase,
    metric: 'RSS growth MB: the same body through the keeper again',
    ours: keeperAgain.rss.growthMb,
    note: `${keeperAgain.streamed.bytes} bytes, status ${keeperAgain.streamed.status}`,
  });
  report.add({
    phase,
    metric:
      'reference: RSS growth MB of a bare node:http proxy, same warm-up and body',
    ours: bareRun.rss.growthMb,
    note: `${bareRun.rss.beforeMb} → ${bareRun.rss.peakMb} MB; ${bareRun.streamed.bytes} bytes, status ${bareRun.streamed.status}`,
  });
  return {
    reportId,
    fileSize,
    redirectStatus: redirect.status,
    straight,
    streamed: { ...streamed, mbPerSecond },
    rss: { beforeMb, peakMb, afterMb, growthMb },
    rssAgain: keeperAgain.rss,
    bareProxyRss: bareRun.rss,
  };
}

/** A body fetched while the process's RSS is sampled every 10 ms; RSS before, peak, 1 s after. */
async function streamedWithRss(
  pid: number,
  fetch: () => ReturnType<typeof countBody>,
): Promise<{
  streamed: Awaited<ReturnType<typeof countBody>>;
  rss: { beforeMb: number; peakMb: number; afterMb: number; growthMb: number };
}> {
  await settle(pid);
  const before = sampleProcess(pid);
  const watcher = new RssWatcher(pid, 10);
  const streamed = await fetch();
  const peak = watcher.stop();
  await sleep(1_000);
  const after = sampleProcess(pid);
  const beforeMb = round((before?.rssBytes ?? NaN) / MB, 1);
  const peakMb = round(peak / MB, 1);
  return {
    streamed,
    rss: {
      beforeMb,
      peakMb,
      afterMb: round((after?.rssBytes ?? NaN) / MB, 1),
      growthMb: round(peakMb - beforeMb, 1),
    },
  };
}

/** bench/src/children/bare-proxy.ts in a process of its own, in front of `upstream`. */
async function startBareProxy(
  ctx: BenchContext,
  upstream: string,
): Promise<{ child: ManagedChild; url: string }> {
  const child = new ManagedChild(
    'bare node:http proxy (proxy phase)',
    process.execPath,
    [join(ctx.outDir, 'bare-proxy.mjs'), upstream],
    { env: { ...process.env } },
  );
  const url = await within(
    new Promise<string>((resolve, reject) => {
      child.onStdoutLine((line) => {
        if (line.startsWith('listening '))
          resolve(line.slice('listening '.length));
      });
      void child.exited.then(() =>
        reject(new Error(`the bare proxy exited:\n${child.output()}`)),
      );
    }),
    30_000,
    'starting the bare proxy',
  );
  return { child, url };
}

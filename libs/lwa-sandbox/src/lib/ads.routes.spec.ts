import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { DEFAULT_ACCOUNT, profilesFor, SAMPLE_ACCOUNTS } from './accounts';
import { startLwaSandbox } from './lwa-sandbox';
import { ManualClock } from './sandbox-clock';
import type { RunningSandbox } from './sandbox-options';
import { adsFetch, control } from '../testing/sandbox-test-kit';

const AGENCY = SAMPLE_ACCOUNTS.find((account) => account.type === 'agency');
const REPORT_TYPE = 'application/vnd.createasyncreportrequest.v3+json';
const REPORT_REQUEST = {
  name: 'SP campaigns 2026-01-01..07',
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
};

interface AdsErrorBody {
  code: string;
  details: string;
  requestId: string;
}

interface ReportStatus {
  reportId: string;
  status: string;
  url: string | null;
  fileSize: number | null;
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** What `fetch` rejected with (undici errors come from another realm, so no instanceof). */
async function failureOf(request: Promise<Response>): Promise<string> {
  try {
    const response = await request;
    return `answered ${response.status}`;
  } catch (error) {
    return (error as { name?: string }).name ?? 'unknown';
  }
}

/**
 * Downloads in a child process, so this process's memory is the sandbox's alone (a client
 * here would add its own garbage), sampling this process's RSS meanwhile.
 */
async function downloadInChild(
  url: string,
): Promise<{ bytes: number; peakRssGrowth: number }> {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const child = spawn(
    process.execPath,
    [
      '-e',
      'fetch(process.argv[1]).then(async (response) => { let n = 0; for await (const chunk of response.body) n += chunk.length; process.stdout.write(String(n)); })',
      url,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  try {
    await once(child, 'close');
  } finally {
    clearInterval(sampler);
  }
  return { bytes: Number(output), peakRssGrowth: peak - baseline };
}

function firstProfileId(account = DEFAULT_ACCOUNT): number {
  const profile = profilesFor(account)[0];
  if (!profile) throw new Error('the account has no profile');
  return profile.profileId;
}

describe(`${startLwaSandbox.name}: the Ads API stand-in`, () => {
  const clock = new ManualClock();
  let sut: RunningSandbox;
  let token: string;
  let scope: number;

  beforeAll(async () => {
    sut = await startLwaSandbox({ port: 0, clock });
  });
  beforeEach(() => {
    clock.set(Date.UTC(2026, 0, 5, 9, 0, 0));
    token = sut.issueTokens().access_token;
    scope = firstProfileId();
  });
  afterEach(() => sut.reset());
  afterAll(() => sut.close());

  function createReport(
    init: { headers?: Record<string, string>; body?: string } = {},
    profileId: number = scope,
  ): Promise<Response> {
    return adsFetch(sut, token, '/reporting/reports', profileId, {
      method: 'POST',
      body: init.body ?? JSON.stringify(REPORT_REQUEST),
      headers: { 'Content-Type': REPORT_TYPE, ...init.headers },
    });
  }

  async function completedReport(): Promise<ReportStatus> {
    const created = await json<ReportStatus>(await createReport());
    const status = await json<ReportStatus>(
      await adsFetch(
        sut,
        token,
        `/reporting/reports/${created.reportId}`,
        scope,
      ),
    );
    if (status.url === null) throw new Error('report not completed');
    return status;
  }

  describe('checks the headers as Amazon does', () => {
    const paths = ['/dsp/advertisers', '/reporting/reports/x', '/v2/echo/a'];

    it.each(paths)(
      '%s: 401 UNAUTHORIZED without a bearer token, with the request id in x-amzn-RequestId',
      async (path) => {
        const response = await adsFetch(sut, token, path, scope, {
          headers: { Authorization: '' },
        });

        expect(response.status).toBe(401);
        const body = await json<AdsErrorBody>(response);
        expect(body).toEqual({
          code: 'UNAUTHORIZED',
          details: expect.any(String),
          requestId: expect.any(String),
        });
        expect(response.headers.get('x-amzn-requestid')).toBe(body.requestId);
      },
    );

    it.each(paths)(
      '%s: 401 for an unknown, revoked or expired token',
      async (path) => {
        const revoked = sut.issueTokens().access_token;
        sut.revokeAccessToken(revoked);
        const expiring = sut.issueTokens().access_token;
        clock.advance(3600_000);

        for (const each of ['Atza|nope', revoked, expiring]) {
          const response = await adsFetch(sut, each, path, scope);

          expect(response.status).toBe(401);
          expect((await json<AdsErrorBody>(response)).code).toBe(
            'UNAUTHORIZED',
          );
        }
      },
    );

    it.each(paths)(
      '%s: 400 without Amazon-Advertising-API-ClientId, 401 with another client’s',
      async (path) => {
        const missing = await adsFetch(sut, token, path, scope, {
          headers: { 'Amazon-Advertising-API-ClientId': '' },
        });
        const other = await adsFetch(sut, token, path, scope, {
          headers: { 'Amazon-Advertising-API-ClientId': 'amzn1.other' },
        });

        expect(missing.status).toBe(400);
        expect((await json<AdsErrorBody>(missing)).code).toBe('BAD_REQUEST');
        expect(other.status).toBe(401);
        expect((await json<AdsErrorBody>(other)).code).toBe('UNAUTHORIZED');
      },
    );

    it.each(paths)(
      '%s: 400 "Scope header is missing", 401 for a profile of another account',
      async (path) => {
        const foreign = firstProfileId(AGENCY);

        const missing = await adsFetch(sut, token, path);
        const other = await adsFetch(sut, token, path, foreign);

        expect(missing.status).toBe(400);
        expect((await json<AdsErrorBody>(missing)).details).toBe(
          'Scope header is missing',
        );
        expect(other.status).toBe(401);
        expect(await json<AdsErrorBody>(other)).toEqual({
          code: 'UNAUTHORIZED',
          details: `Not authorized to access scope ${foreign}`,
          requestId: expect.any(String),
        });
      },
    );

    it('refuses other methods with 405 before anything else', async () => {
      const response = await adsFetch(sut, '', '/dsp/advertisers', scope, {
        method: 'DELETE',
      });

      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET');
    });
  });

  describe('GET /dsp/advertisers', () => {
    it('lists an agency profile’s advertisers in Amazon’s shape, the same every time', async () => {
      if (!AGENCY) throw new Error('a sample agency is expected');
      const agencyToken = sut.issueTokens(AGENCY.id).access_token;
      const agencyProfile = profilesFor(AGENCY)[1];

      const response = await adsFetch(
        sut,
        agencyToken,
        '/dsp/advertisers',
        agencyProfile?.profileId,
      );
      const again = await adsFetch(
        sut,
        agencyToken,
        '/dsp/advertisers',
        agencyProfile?.profileId,
      );

      expect(response.status).toBe(200);
      expect(response.headers.get('x-amzn-requestid')).toMatch(
        /^[0-9a-f-]{36}$/,
      );
      const body = await json<{ totalResults: number; response: unknown[] }>(
        response,
      );
      expect(body).toEqual({
        totalResults: 2,
        response: [
          {
            advertiserId: expect.stringMatching(/^\d{13}$/),
            name: 'Trailhead Coffee (UK)',
            currency: 'GBP',
            url: expect.stringMatching(/^https:\/\//),
            country: 'UK',
            timezone: 'Europe/London',
          },
          expect.objectContaining({ name: 'Lumen Lighting (UK)' }),
        ],
      });
      expect(await json(again)).toEqual(body);
    });

    it('refuses a seller profile with 403', async () => {
      const response = await adsFetch(sut, token, '/dsp/advertisers', scope);

      expect(response.status).toBe(403);
      expect((await json<AdsErrorBody>(response)).code).toBe('FORBIDDEN');
    });
  });

  describe('reports', () => {
    it('POST answers PENDING; the status turns COMPLETED with a url and fileSize after the delay', async () => {
      sut.updateSettings({ reportDelaySeconds: 60 });

      const created = await createReport();
      const createdBody = await json<ReportStatus>(created);
      const statusPath = `/reporting/reports/${createdBody.reportId}`;
      const early = await json<ReportStatus>(
        await adsFetch(sut, token, statusPath, scope),
      );
      clock.advance(60_000);
      const done = await json<ReportStatus>(
        await adsFetch(sut, token, statusPath, scope),
      );

      expect(created.status).toBe(200);
      expect(createdBody).toMatchObject({
        reportId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: REPORT_REQUEST.name,
        status: 'PENDING',
        configuration: REPORT_REQUEST.configuration,
        url: null,
      });
      expect(early).toMatchObject({ status: 'PENDING', url: null });
      expect(done).toMatchObject({ status: 'COMPLETED', fileSize: 4096 });
      const url = new URL(done.url ?? '');
      expect(url.origin).toBe(sut.url);
      expect([...url.searchParams.keys()]).toEqual([
        'X-Amz-Algorithm',
        'X-Amz-Credential',
        'X-Amz-Date',
        'X-Amz-Expires',
        'X-Amz-SignedHeaders',
        'X-Amz-Signature',
      ]);
    });

    it('is COMPLETED at the first status read by default, and its url serves fileSize bytes of JSON without credentials', async () => {
      const status = await completedReport();

      const download = await fetch(status.url ?? '');
      const text = await download.text();

      expect(download.status).toBe(200);
      expect(Buffer.byteLength(text)).toBe(4096);
      expect(download.headers.get('content-length')).toBe('4096');
      expect(JSON.parse(text)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ date: expect.any(String) }),
        ]),
      );
    });

    it('shows a report to the profile that created it only', async () => {
      const created = await json<ReportStatus>(await createReport());
      const otherProfile = profilesFor(DEFAULT_ACCOUNT)[1]?.profileId;

      const response = await adsFetch(
        sut,
        token,
        `/reporting/reports/${created.reportId}`,
        otherProfile,
      );

      expect(response.status).toBe(404);
      expect((await json<AdsErrorBody>(response)).code).toBe('NOT_FOUND');
    });

    it('refuses other content types with 415 and a body without configuration with 400', async () => {
      const plainJson = await createReport({
        headers: { 'Content-Type': 'application/json' },
      });
      const noConfiguration = await createReport({
        body: JSON.stringify({ name: 'x' }),
      });
      const notJson = await createReport({ body: '{' });

      expect(plainJson.status).toBe(415);
      expect(await json<AdsErrorBody>(plainJson)).toEqual({
        code: '415',
        details: 'Cannot consume content type',
        requestId: expect.any(String),
      });
      expect(noConfiguration.status).toBe(400);
      expect(notJson.status).toBe(400);
      expect(sut.counts().reports).toBe(0);
    });

    it('GET /v2/reports/:id/download answers 307 to the presigned download; 404 while pending', async () => {
      sut.updateSettings({ reportDelaySeconds: 30 });
      const created = await json<ReportStatus>(await createReport());
      const path = `/v2/reports/${created.reportId}/download`;

      const pending = await adsFetch(sut, token, path, scope);
      clock.advance(30_000);
      const redirect = await adsFetch(sut, token, path, scope);
      const location = redirect.headers.get('location') ?? '';
      const download = await fetch(location);

      expect(pending.status).toBe(404);
      expect(redirect.status).toBe(307);
      expect(new URL(location).searchParams.get('X-Amz-Signature')).toMatch(
        /^[0-9a-f]{64}$/,
      );
      expect(download.status).toBe(200);
      expect((await download.arrayBuffer()).byteLength).toBe(4096);
    });

    it('GET /v2/reports/:id/body streams the report’s rows from the Ads host with the Ads headers; 404 while pending or for another profile', async () => {
      sut.updateSettings({ reportDelaySeconds: 30, reportBytes: 10_000 });
      const created = await json<ReportStatus>(await createReport());
      const path = `/v2/reports/${created.reportId}/body`;
      const otherProfile = profilesFor(DEFAULT_ACCOUNT)[1]?.profileId;

      const pending = await adsFetch(sut, token, path, scope);
      clock.advance(30_000);
      const body = await adsFetch(sut, token, path, scope);
      const text = await body.text();
      const otherScope = await adsFetch(sut, token, path, otherProfile);
      const noToken = await fetch(`${sut.url}${path}`);

      expect(pending.status).toBe(404);
      expect(body.status).toBe(200);
      expect(body.headers.get('content-length')).toBe('10000');
      expect(Buffer.byteLength(text)).toBe(10_000);
      expect(JSON.parse(text)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ date: expect.any(String) }),
        ]),
      );
      expect(otherScope.status).toBe(404);
      expect(noToken.status).toBe(401);
    });

    it('the download refuses any request carrying Authorization with 400 InvalidArgument, and never echoes it', async () => {
      const { url } = await completedReport();

      const refused = await fetch(url ?? '', {
        headers: { Authorization: `Bearer ${token}` },
      });
      const text = await refused.text();
      const served = await fetch(url ?? '');
      await served.arrayBuffer();

      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toBe('application/xml');
      expect(text).toContain('<Code>InvalidArgument</Code>');
      expect(text).toContain('Only one auth mechanism allowed');
      expect(text).not.toContain(token);
      expect(served.status).toBe(200);
      expect(
        sut.requests({ endpoint: 'download' }).map((entry) => ({
          status: entry.status,
          authorizationPresent: entry.authorizationPresent,
        })),
      ).toEqual([
        { status: 400, authorizationPresent: true },
        { status: 200, authorizationPresent: false },
      ]);
    });

    it('the download refuses a tampered, unsigned or expired URL with 403', async () => {
      const { url } = await completedReport();
      const tampered = new URL(url ?? '');
      tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
      const unsigned = new URL(url ?? '');
      unsigned.search = '';

      const statuses = [
        (await fetch(tampered)).status,
        (await fetch(unsigned)).status,
      ];
      clock.advance(3601_000);
      const expired = await fetch(url ?? '');

      expect(statuses).toEqual([403, 403]);
      expect(expired.status).toBe(403);
      expect(await expired.text()).toContain('Request has expired');
    });

    it('streams a 50 MB download (size set through the control API) with this process’s memory growing under 20 MB', async () => {
      const size = 50 * 1024 * 1024;
      // Warm-up: the first child process and download load what every later one reuses.
      await downloadInChild((await completedReport()).url ?? '');
      await control(sut, 'PATCH', 'settings', { reportBytes: size });
      const { url, fileSize } = await completedReport();

      const { bytes, peakRssGrowth } = await downloadInChild(url ?? '');

      expect(fileSize).toBe(size);
      expect(bytes).toBe(size);
      expect(peakRssGrowth).toBeLessThan(20 * 1024 * 1024);
    }, 30_000);
  });

  describe('ANY /v2/echo/<rest>', () => {
    it('answers the method, raw path and query, the headers a proxy passes, and the body’s size and SHA-256', async () => {
      const body = randomBytes(3 * 1024 * 1024);

      const response = await adsFetch(
        sut,
        token,
        '/v2/echo/sp/campaigns/list?b=2&a=1&a=%2F',
        scope,
        {
          method: 'POST',
          body,
          headers: {
            'Content-Type': 'application/vnd.spcampaign.v3+json',
            Accept: 'application/vnd.spcampaign.v3+json',
            'Amazon-Ads-AccountId': 'amzn1.ads-account.g.sandbox',
            Cookie: 'session-id=1',
            'X-Correlation-Id': 'corr-1',
          },
        },
      );
      const text = await response.text();

      expect(response.status).toBe(200);
      expect(text).not.toContain(token);
      expect(JSON.parse(text)).toEqual({
        method: 'POST',
        path: '/v2/echo/sp/campaigns/list',
        query: 'b=2&a=1&a=%2F',
        headers: expect.objectContaining({
          'content-type': 'application/vnd.spcampaign.v3+json',
          accept: 'application/vnd.spcampaign.v3+json',
          'amazon-advertising-api-scope': String(scope),
          'amazon-ads-accountid': 'amzn1.ads-account.g.sandbox',
          'amazon-advertising-api-clientid': sut.clientId,
          'x-correlation-id': 'corr-1',
        }),
        authorizationPresent: true,
        cookiePresent: true,
        proxyAuthorizationPresent: false,
        bodyBytes: body.length,
        bodySha256: createHash('sha256').update(body).digest('hex'),
      });
    });

    it('answers any method, an empty body included', async () => {
      const response = await adsFetch(sut, token, '/v2/echo/x', scope, {
        method: 'DELETE',
      });

      expect(await json(response)).toMatchObject({
        method: 'DELETE',
        query: '',
        cookiePresent: false,
        bodyBytes: 0,
        bodySha256: createHash('sha256').digest('hex'),
      });
    });
  });

  describe('faults on the ads endpoint', () => {
    it.each([
      [{ kind: '429', retryAfter: 3 }, 429, '3'],
      [
        { kind: '429', retryAfter: 30, retryAfterFormat: 'http-date' },
        429,
        'Mon, 05 Jan 2026 09:00:30 GMT',
      ],
      [{ kind: '429' }, 429, null],
      [{ kind: '500' }, 500, null],
      [{ kind: '503', retryAfter: 1 }, 503, '1'],
      [{ kind: 'unauthorized' }, 401, null],
    ] as const)(
      '%j answers %i in the Ads error shape (Retry-After %s), once',
      async (fault, status, retryAfter) => {
        sut.queueFault({ endpoint: 'ads', ...fault });

        const faulted = await adsFetch(sut, token, '/v2/echo/f', scope);
        const next = await adsFetch(sut, token, '/v2/echo/f', scope);

        expect(faulted.status).toBe(status);
        expect(faulted.headers.get('retry-after')).toBe(retryAfter);
        expect(await json(faulted)).toEqual({
          code: expect.any(String),
          details: expect.any(String),
          requestId: faulted.headers.get('x-amzn-requestid'),
        });
        expect(next.status).toBe(200);
      },
    );

    it('slow answers normally after the delay', async () => {
      sut.queueFault({ endpoint: 'ads', kind: 'slow', ms: 80 });
      const startedAt = Date.now();

      const response = await adsFetch(sut, token, '/v2/echo/s', scope);

      expect(response.status).toBe(200);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(75);
      expect(sut.requests({ endpoint: 'ads' })[0]).toMatchObject({
        status: 200,
        fault: 'slow',
      });
    });

    it('timeout never answers and reset drops the connection', async () => {
      sut.queueFault({ endpoint: 'ads', kind: 'timeout' });
      sut.queueFault({ endpoint: 'ads', kind: 'reset' });

      const timedOut = await failureOf(
        adsFetch(sut, token, '/v2/echo/t', scope, {
          signal: AbortSignal.timeout(100),
        }),
      );
      const reset = await failureOf(adsFetch(sut, token, '/v2/echo/r', scope));

      expect(timedOut).toBe('TimeoutError');
      expect(reset).toBe('TypeError');
    });

    it('ads and profiles faults stay on their own paths', async () => {
      sut.queueFault({ endpoint: 'ads', kind: '500' });
      sut.queueFault({ endpoint: 'profiles', kind: '503' });

      const profiles = await adsFetch(sut, token, '/v2/profiles');
      const ads = await adsFetch(sut, token, '/v2/echo/p', scope);

      expect(profiles.status).toBe(503);
      expect(ads.status).toBe(500);
    });

    it('the control API queues them', async () => {
      const queued = await control(sut, 'POST', 'faults', {
        endpoint: 'ads',
        kind: 429,
      });
      const wrongKind = await control(sut, 'POST', 'faults', {
        endpoint: 'ads',
        kind: 'malformed_json',
      });

      expect(queued.status).toBe(201);
      expect(wrongKind.status).toBe(400);
      expect(
        (await adsFetch(sut, token, '/dsp/advertisers', scope)).status,
      ).toBe(429);
    });
  });

  describe('the request log', () => {
    it('records every Ads request, with its scope and whether it carried Authorization', async () => {
      sut.queueFault({ endpoint: 'ads', kind: '429' });
      await (await adsFetch(sut, token, '/dsp/advertisers', scope)).text();
      await (await adsFetch(sut, token, '/dsp/advertisers', scope)).text();
      await (
        await adsFetch(sut, token, '/v2/echo/x', undefined, {
          headers: { Authorization: '' },
        })
      ).text();
      await (await adsFetch(sut, token, '/v2/profiles')).text();

      const ads = sut.requests({ endpoint: 'ads' });
      const overHttp = await json<{ requests: unknown[] }>(
        await control(sut, 'GET', 'requests?endpoint=ads'),
      );

      expect(
        ads.map(({ method, path, status, fault, authorizationPresent }) => ({
          method,
          path,
          status,
          fault,
          authorizationPresent,
        })),
      ).toEqual([
        {
          method: 'GET',
          path: '/dsp/advertisers',
          status: 429,
          fault: '429',
          authorizationPresent: true,
        },
        {
          method: 'GET',
          path: '/dsp/advertisers',
          status: 403,
          fault: undefined,
          authorizationPresent: true,
        },
        {
          method: 'GET',
          path: '/v2/echo/x',
          status: 401,
          fault: undefined,
          authorizationPresent: false,
        },
      ]);
      expect(ads[1]).toMatchObject({
        scope: String(scope),
        accountId: DEFAULT_ACCOUNT.id,
        outcome: 'not_agency',
      });
      expect(overHttp.requests).toHaveLength(3);
      expect(sut.requests({ endpoint: 'profiles' })).toHaveLength(1);
    });
  });
});

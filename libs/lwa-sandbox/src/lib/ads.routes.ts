import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { dspAdvertisersFor } from './accounts';
import {
  AdsCaller,
  answerAdsFault,
  authenticateAds,
  sendAdsError,
} from './ads-api';
import type { Exchange, SandboxContext } from './exchange';
import {
  BodyTooLargeError,
  ClientGoneError,
  readBody,
  sendJson,
} from './http-io';
import { DOWNLOAD_PREFIX, reportBody, SandboxReport } from './report-store';

const REPORT_PATH = /^\/reporting\/reports\/([^/]{1,100})$/;
const V2_DOWNLOAD_PATH = /^\/v2\/reports\/([^/]{1,100})\/download$/;
const REPORT_BODY_PATH = /^\/v2\/reports\/([^/]{1,100})\/body$/;
const ECHO_PATH = /^\/v2\/echo(\/.*)?$/;
const REPORT_CONTENT_TYPE = 'application/vnd.createasyncreportrequest.v3+json';
// The echo hashes what it receives without keeping it; this only bounds a runaway sender.
const MAX_ECHO_BYTES = 64 * 1024 * 1024;
// What the echo reports back: the headers a proxy must pass or must drop, never their secrets.
const ECHOED_HEADERS = [
  'content-type',
  'content-length',
  'transfer-encoding',
  'accept',
  'accept-encoding',
  'amazon-advertising-api-scope',
  'amazon-ads-accountid',
  'amazon-advertising-api-clientid',
  'connection',
  'te',
  'upgrade',
  'keep-alive',
  'forwarded',
];

type AdsHandler = (
  ctx: SandboxContext,
  x: Exchange,
  caller: AdsCaller,
) => Promise<void> | void;

interface AdsRoute {
  methods: readonly string[] | 'any';
  handle: AdsHandler;
}

/** The Ads API paths besides /v2/profiles that the sandbox answers. */
function adsRoute(path: string): AdsRoute | undefined {
  if (path === '/dsp/advertisers')
    return { methods: ['GET'], handle: listDspAdvertisers };
  if (path === '/reporting/reports')
    return { methods: ['POST'], handle: createReport };
  if (REPORT_PATH.test(path)) return { methods: ['GET'], handle: reportStatus };
  if (V2_DOWNLOAD_PATH.test(path))
    return { methods: ['GET'], handle: redirectToDownload };
  if (REPORT_BODY_PATH.test(path))
    return { methods: ['GET'], handle: sendReportBody };
  if (ECHO_PATH.test(path)) return { methods: 'any', handle: echo };
  return undefined;
}

export function isAdsPath(path: string): boolean {
  return adsRoute(path) !== undefined;
}

/** The URL the caller reached the sandbox on, for the download URLs it hands out. */
function baseUrl(ctx: SandboxContext, x: Exchange): string {
  const host = x.req.headers.host;
  return host !== undefined && /^[A-Za-z0-9.\-:[\]]{1,300}$/.test(host)
    ? `http://${host}`
    : ctx.ownUrl;
}

/** `GET /dsp/advertisers` (DSP): the advertisers an agency profile (the scope) manages. */
function listDspAdvertisers(
  _ctx: SandboxContext,
  x: Exchange,
  { profile }: AdsCaller,
): void {
  if (!profile) return;
  if (profile.accountInfo.type !== 'agency') {
    // DSP lists advertisers for agency profiles only. The 403 is the sandbox's choice: we found
    // no published answer for other profiles, and it must not look like a revoked token (401).
    x.record.outcome = 'not_agency';
    sendAdsError(
      x,
      403,
      'FORBIDDEN',
      `Profile ${profile.profileId} is not a DSP agency profile`,
    );
    return;
  }
  const response = dspAdvertisersFor(profile);
  x.record.outcome = 'ok';
  // The shape Amazon answers: { totalResults, response: [{ advertiserId, name, currency, url, country, timezone }] }.
  sendJson(x.res, 200, { totalResults: response.length, response });
}

function optionalString(
  body: Record<string, unknown>,
  name: string,
): string | null | false {
  const value = body[name];
  if (value === undefined || value === null) return null;
  return typeof value === 'string' && value.length <= 200 ? value : false;
}

/**
 * `POST /reporting/reports` (reporting v3). Amazon consumes only its versioned media type and
 * answers 415 "Cannot consume content type" otherwise (amzn/ads-advanced-tools-docs#41, #215).
 * Validation errors are 400 with code "400", as Amazon's v3 reporting sends them
 * (ads-advanced-tools-docs#375), here with `details` like every other Ads error.
 */
async function createReport(
  ctx: SandboxContext,
  x: Exchange,
  { grant, profile }: AdsCaller,
): Promise<void> {
  if (!profile) return;
  const contentType = x.req.headers['content-type']
    ?.split(';')[0]
    ?.trim()
    .toLowerCase();
  if (contentType !== REPORT_CONTENT_TYPE) {
    x.record.outcome = 'unsupported_media_type';
    sendAdsError(x, 415, '415', 'Cannot consume content type');
    return;
  }
  let raw: Buffer;
  try {
    raw = await readBody(x.req, ctx.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    sendAdsError(x, 413, '413', 'Request entity too large', {
      Connection: 'close',
    });
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    sendAdsError(x, 400, '400', 'The request body is not valid JSON');
    return;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    sendAdsError(x, 400, '400', 'The request body must be a JSON object');
    return;
  }
  const body = parsed as Record<string, unknown>;
  const configuration = body['configuration'];
  if (
    typeof configuration !== 'object' ||
    configuration === null ||
    Array.isArray(configuration)
  ) {
    sendAdsError(x, 400, '400', 'configuration is required');
    return;
  }
  const name = optionalString(body, 'name');
  const startDate = optionalString(body, 'startDate');
  const endDate = optionalString(body, 'endDate');
  if (name === false || startDate === false || endDate === false) {
    sendAdsError(
      x,
      400,
      '400',
      'name, startDate and endDate must be strings of at most 200 characters',
    );
    return;
  }
  const settings = ctx.authority.settings;
  const report = ctx.reports.create(
    {
      accountId: grant.account.id,
      profileId: String(profile.profileId),
      name,
      startDate,
      endDate,
      configuration,
      createdAtMs: ctx.authority.now(),
      bytes: settings.reportBytes,
    },
    settings.reportDelaySeconds,
  );
  x.record.outcome = 'ok';
  sendJson(
    x.res,
    200,
    ctx.reports.status(report, report.createdAtMs, baseUrl(ctx, x), true),
  );
}

/** `GET /reporting/reports/{reportId}`: PENDING until the delay passed, then COMPLETED with `url`. */
function reportStatus(
  ctx: SandboxContext,
  x: Exchange,
  { profile }: AdsCaller,
): void {
  if (!profile) return;
  const reportId = REPORT_PATH.exec(x.url.pathname)?.[1] ?? '';
  const report = ctx.reports.find(reportId, String(profile.profileId));
  if (!report) {
    x.record.outcome = 'not_found';
    sendAdsError(
      x,
      404,
      'NOT_FOUND',
      `Report ${reportId.slice(0, 100)} not found`,
    );
    return;
  }
  x.record.outcome = 'ok';
  sendJson(
    x.res,
    200,
    ctx.reports.status(report, ctx.authority.now(), baseUrl(ctx, x)),
  );
}

/**
 * `GET /v2/reports/{reportId}/download`: Amazon's v2 answers 307 to a presigned S3 URL. A
 * client that follows it with the Ads headers still attached sends its token to S3, which
 * refuses it; that is what the proxy must never do.
 */
function redirectToDownload(
  ctx: SandboxContext,
  x: Exchange,
  { profile }: AdsCaller,
): void {
  const report = readyReport(ctx, x, profile, V2_DOWNLOAD_PATH);
  if (!report) return;
  const now = ctx.authority.now();
  x.record.outcome = 'redirect';
  x.res.writeHead(307, {
    Location: ctx.reports.downloadUrl(report, now, baseUrl(ctx, x)),
    'Content-Length': 0,
  });
  x.res.end();
}

/** The scope's report named in the path once it is ready; answers the 404 itself otherwise. */
function readyReport(
  ctx: SandboxContext,
  x: Exchange,
  profile: AdsCaller['profile'],
  pattern: RegExp,
): SandboxReport | undefined {
  if (!profile) return undefined;
  const reportId = pattern.exec(x.url.pathname)?.[1] ?? '';
  const report = ctx.reports.find(reportId, String(profile.profileId));
  if (!report || !ctx.reports.isReady(report, ctx.authority.now())) {
    x.record.outcome = 'not_found';
    sendAdsError(
      x,
      404,
      'NOT_FOUND',
      report
        ? `Report ${reportId} is not ready yet`
        : `Report ${reportId.slice(0, 100)} not found`,
    );
    return undefined;
  }
  return report;
}

/**
 * `GET /v2/reports/{reportId}/body` (sandbox only; Amazon serves report files from S3 alone):
 * the report's rows streamed by the Ads host itself, with the Ads headers checked, so a proxy
 * can be measured streaming a large answer (the benchmarks' 50 MB through the keeper).
 */
async function sendReportBody(
  ctx: SandboxContext,
  x: Exchange,
  { profile }: AdsCaller,
): Promise<void> {
  const report = readyReport(ctx, x, profile, REPORT_BODY_PATH);
  if (!report) return;
  x.record.outcome = 'ok';
  x.res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': report.bytes,
  });
  try {
    await pipeline(reportBody(report.bytes), x.res);
  } catch {
    // The client went away mid-body; nothing is left to answer.
  }
}

/** Streams a request body through SHA-256 without keeping it. */
function hashBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        cleanup();
        req.pause();
        reject(new BodyTooLargeError(`body exceeds ${maxBytes} bytes`));
        return;
      }
      hash.update(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve({ bytes, sha256: hash.digest('hex') });
    };
    const onGone = (): void => {
      cleanup();
      reject(new ClientGoneError('client closed the connection while sending'));
    };
    const onClose = (): void => {
      if (!req.complete) onGone();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onClose);
  });
}

/**
 * `ANY /v2/echo/<rest>` (sandbox only): answers what arrived, so proxy tests can check which
 * headers were passed, replaced or dropped and that the body arrived byte for byte.
 * Credentials are reported as present or not, never echoed.
 */
async function echo(_ctx: SandboxContext, x: Exchange): Promise<void> {
  const target = x.req.url ?? '';
  const queryAt = target.indexOf('?');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(x.req.headers)) {
    if (value === undefined) continue;
    if (ECHOED_HEADERS.includes(name) || name.startsWith('x-'))
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  let body: { bytes: number; sha256: string };
  try {
    body = await hashBody(x.req, MAX_ECHO_BYTES);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    sendAdsError(x, 413, '413', 'Request entity too large', {
      Connection: 'close',
    });
    return;
  }
  x.record.outcome = 'ok';
  sendJson(x.res, 200, {
    method: x.req.method ?? '',
    path: queryAt === -1 ? target : target.slice(0, queryAt),
    query: queryAt === -1 ? '' : target.slice(queryAt + 1),
    headers,
    authorizationPresent: x.req.headers.authorization !== undefined,
    cookiePresent: x.req.headers.cookie !== undefined,
    proxyAuthorizationPresent:
      x.req.headers['proxy-authorization'] !== undefined,
    bodyBytes: body.bytes,
    bodySha256: body.sha256,
  });
}

/**
 * Every Ads API path but /v2/profiles: the method, then a queued `ads` fault, then Amazon's
 * header checks (token, client id, scope), then the answer.
 */
export async function handleAds(
  ctx: SandboxContext,
  x: Exchange,
): Promise<void> {
  x.record.endpoint = 'ads';
  const route = adsRoute(x.url.pathname);
  if (!route) return;
  const method = x.req.method ?? '';
  if (route.methods !== 'any' && !route.methods.includes(method)) {
    x.record.outcome = 'method_not_allowed';
    sendAdsError(
      x,
      405,
      'METHOD_NOT_ALLOWED',
      `Use ${route.methods.join(', ')}`,
      {
        Allow: route.methods.join(', '),
      },
    );
    return;
  }
  if ((await answerAdsFault(ctx, x, 'ads')) !== 'none') return;
  const caller = authenticateAds(ctx, x, true);
  if (!caller) return;
  // Amazon puts a request id on every answer, not only on errors.
  x.res.setHeader('x-amzn-RequestId', randomUUID());
  await route.handle(ctx, x, caller);
}

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** S3's XML error, with its request id headers; never echoes the refused credential. */
function sendS3Error(
  x: Exchange,
  status: number,
  code: string,
  message: string,
  extra = '',
): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const hostId = randomBytes(48).toString('base64');
  const body = `${XML_HEADER}<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`;
  x.record.outcome = code;
  x.res.writeHead(status, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
    'x-amz-id-2': hostId,
  });
  x.res.end(body);
}

export function isDownloadPath(path: string): boolean {
  return path.startsWith(DOWNLOAD_PREFIX);
}

/**
 * The presigned report download, the sandbox's S3. Like S3, a request that carries an
 * `Authorization` header besides the signed query is refused with 400 InvalidArgument "Only one
 * auth mechanism allowed…" (the answer S3 gives a presigned URL fetched with the Ads token
 * still attached); the refused value is not echoed, unlike S3, so no token reaches a log.
 */
export async function handleDownload(
  ctx: SandboxContext,
  x: Exchange,
): Promise<void> {
  x.record.endpoint = 'download';
  const method = x.req.method ?? '';
  if (method !== 'GET' && method !== 'HEAD') {
    sendS3Error(
      x,
      405,
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
      `<Method>${method.replace(/[^A-Z]/g, '').slice(0, 16)}</Method><ResourceType>OBJECT</ResourceType>`,
    );
    return;
  }
  if (x.req.headers.authorization !== undefined) {
    sendS3Error(
      x,
      400,
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      '<ArgumentName>Authorization</ArgumentName>',
    );
    return;
  }
  const check = ctx.reports.checkDownload(
    x.url.pathname,
    x.url.searchParams,
    ctx.authority.now(),
  );
  if (!check.ok) {
    sendS3Error(x, check.status, check.code, check.message);
    return;
  }
  x.record.accountId = check.report.accountId;
  x.record.outcome = 'ok';
  x.res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': check.report.bytes,
    'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
  });
  if (method === 'HEAD') {
    x.res.end();
    return;
  }
  try {
    await pipeline(reportBody(check.report.bytes), x.res);
  } catch {
    // The client went away mid-download; nothing is left to answer.
  }
}

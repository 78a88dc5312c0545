import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { constantTimeEqual } from './credentials';

/** Where the sandbox serves report files: its stand-in for Amazon's S3 bucket. */
export const DOWNLOAD_PREFIX = '/sandbox-s3/reports/';
/** How long a download URL works (Amazon's report URLs are short-lived presigned S3 URLs). */
const URL_LIFETIME_SECONDS = 3600;
// Oldest reports are forgotten beyond this, so a long benchmark cannot exhaust memory.
const MAX_REPORTS = 10_000;

/** A report as `POST /reporting/reports` created it. */
export interface SandboxReport {
  reportId: string;
  accountId: string;
  /** The Amazon-Advertising-API-Scope it was created under; only that profile can read it. */
  profileId: string;
  name: string | null;
  startDate: string | null;
  endDate: string | null;
  configuration: unknown;
  createdAtMs: number;
  readyAtMs: number;
  /** The download body's exact size. */
  bytes: number;
}

/** Amazon's v3 report status body (`GET /reporting/reports/{reportId}`). */
export interface ReportStatusBody {
  reportId: string;
  name: string | null;
  status: 'PENDING' | 'COMPLETED';
  configuration: unknown;
  startDate: string | null;
  endDate: string | null;
  createdAt: string;
  updatedAt: string;
  generatedAt: string | null;
  url: string | null;
  urlExpiresAt: string | null;
  fileSize: number | null;
  failureReason: string | null;
}

export type DownloadCheck =
  | { ok: true; report: SandboxReport }
  | { ok: false; status: number; code: string; message: string };

function amzDate(ms: number): string {
  // 20260101T000000Z, the X-Amz-Date format.
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
}

function parseAmzDate(value: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s);
}

/** The reports created through the Ads API stand-in, and their presigned download URLs. */
export class ReportStore {
  private readonly reports = new Map<string, SandboxReport>();
  // Signs download URLs; new per sandbox so URLs from another run do not work.
  private readonly signingKey = randomBytes(32);

  create(
    fields: Omit<SandboxReport, 'reportId' | 'readyAtMs'>,
    delaySeconds: number,
  ): SandboxReport {
    if (this.reports.size >= MAX_REPORTS) {
      const oldest = this.reports.keys().next().value;
      if (oldest !== undefined) this.reports.delete(oldest);
    }
    const report: SandboxReport = {
      ...fields,
      reportId: randomUUID(),
      readyAtMs: fields.createdAtMs + delaySeconds * 1000,
    };
    this.reports.set(report.reportId, report);
    return report;
  }

  /** The report, if it exists and belongs to that profile (Amazon shows no one else's). */
  find(reportId: string, profileId: string): SandboxReport | undefined {
    const report = this.reports.get(reportId);
    return report?.profileId === profileId ? report : undefined;
  }

  isReady(report: SandboxReport, nowMs: number): boolean {
    return nowMs >= report.readyAtMs;
  }

  /**
   * The status body at `nowMs`; a COMPLETED one carries a fresh presigned URL on `baseUrl`.
   * `justCreated`: the answer to the create itself, PENDING whatever the delay, as Amazon's.
   */
  status(
    report: SandboxReport,
    nowMs: number,
    baseUrl: string,
    justCreated = false,
  ): ReportStatusBody {
    const ready = !justCreated && this.isReady(report, nowMs);
    return {
      reportId: report.reportId,
      name: report.name,
      status: ready ? 'COMPLETED' : 'PENDING',
      configuration: report.configuration,
      startDate: report.startDate,
      endDate: report.endDate,
      createdAt: new Date(report.createdAtMs).toISOString(),
      updatedAt: new Date(
        ready ? report.readyAtMs : report.createdAtMs,
      ).toISOString(),
      generatedAt: ready ? new Date(report.readyAtMs).toISOString() : null,
      url: ready ? this.downloadUrl(report, nowMs, baseUrl) : null,
      urlExpiresAt: ready
        ? new Date(nowMs + URL_LIFETIME_SECONDS * 1000).toISOString()
        : null,
      fileSize: ready ? report.bytes : null,
      failureReason: null,
    };
  }

  /**
   * A URL that looks like an S3 presigned URL (SigV4 query parameters) and carries its own
   * authorization, so it must be fetched without an `Authorization` header.
   */
  downloadUrl(report: SandboxReport, nowMs: number, baseUrl: string): string {
    const date = amzDate(nowMs);
    const expires = String(URL_LIFETIME_SECONDS);
    const query = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `ASIASANDBOXEXAMPLE/${date.slice(0, 8)}/us-east-1/s3/aws4_request`,
      'X-Amz-Date': date,
      'X-Amz-Expires': expires,
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': this.sign(report.reportId, date, expires),
    });
    return `${baseUrl}${DOWNLOAD_PREFIX}${report.reportId}.json?${query.toString()}`;
  }

  /** Checks a download request's path and presigned query as S3 would. */
  checkDownload(
    path: string,
    query: URLSearchParams,
    nowMs: number,
  ): DownloadCheck {
    const reportId = /^([0-9a-f-]{36})\.json$/.exec(
      path.slice(DOWNLOAD_PREFIX.length),
    )?.[1];
    const signature = query.get('X-Amz-Signature');
    const date = query.get('X-Amz-Date') ?? '';
    const expires = query.get('X-Amz-Expires') ?? '';
    if (signature === null) {
      return {
        ok: false,
        status: 403,
        code: 'AccessDenied',
        message: 'Access Denied',
      };
    }
    const signedAt = parseAmzDate(date);
    if (
      reportId === undefined ||
      signedAt === undefined ||
      !constantTimeEqual(signature, this.sign(reportId, date, expires))
    ) {
      return {
        ok: false,
        status: 403,
        code: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      };
    }
    if (nowMs > signedAt + Number(expires) * 1000) {
      return {
        ok: false,
        status: 403,
        code: 'AccessDenied',
        message: 'Request has expired',
      };
    }
    const report = this.reports.get(reportId);
    if (!report) {
      return {
        ok: false,
        status: 404,
        code: 'NoSuchKey',
        message: 'The specified key does not exist.',
      };
    }
    return { ok: true, report };
  }

  count(): number {
    return this.reports.size;
  }

  clear(): void {
    this.reports.clear();
  }

  private sign(reportId: string, date: string, expires: string): string {
    return createHmac('sha256', this.signingKey)
      .update(`${reportId}\n${date}\n${expires}`)
      .digest('hex');
  }
}

function reportRow(index: number): string {
  const day = String((index % 28) + 1).padStart(2, '0');
  const impressions = (index * 7919) % 100_000;
  const clicks = impressions % 997;
  const cost = ((clicks * 37) % 10_000) / 100;
  return (
    `{"date":"2026-01-${day}","campaignId":"${4_000_000_000 + index}",` +
    `"campaignName":"Sandbox campaign ${index}","impressions":${impressions},` +
    `"clicks":${clicks},"cost":${cost}}`
  );
}

const FIRST_ROW = Buffer.from(reportRow(0), 'latin1');
const BLOCK_ROWS = Array.from(
  { length: 400 },
  (_, index) => `,${reportRow(index + 1)}`,
);
/** About 60 kB of rows, each after a comma; the body repeats it, so no chunk is ever built. */
const ROW_BLOCK = Buffer.from(BLOCK_ROWS.join(''), 'latin1');
/** Where each row of the block ends, to cut the last block at a row boundary. */
const ROW_ENDS = BLOCK_ROWS.reduce<number[]>(
  (ends, row) => [...ends, (ends.at(-1) ?? 0) + row.length],
  [],
);

/**
 * A report's body: a JSON array of rows (Amazon's JSON report format, not gzipped) of exactly
 * `bytes` bytes, padded with JSON whitespace before the closing bracket. The same immutable
 * block of rows is pushed again and again as the reader pulls, so a 50 MB report allocates
 * nothing per chunk and never sits in memory.
 */
export function reportBody(bytes: number): Readable {
  const parts = function* (): Generator<Buffer> {
    let remaining = bytes - 2; // between "[" and "]"
    yield Buffer.from('[', 'latin1');
    if (remaining >= FIRST_ROW.length) {
      yield FIRST_ROW;
      remaining -= FIRST_ROW.length;
      while (remaining >= ROW_BLOCK.length) {
        yield ROW_BLOCK;
        remaining -= ROW_BLOCK.length;
      }
      const cut = ROW_ENDS.filter((end) => end <= remaining).at(-1) ?? 0;
      if (cut > 0) yield ROW_BLOCK.subarray(0, cut);
      remaining -= cut;
    }
    if (remaining > 0) yield Buffer.alloc(remaining, 0x20);
    yield Buffer.from(']', 'latin1');
  };
  return Readable.from(parts(), { objectMode: false });
}

import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';

/** No answer from Amazon: refused, reset, timed out, or the caller went away. */
export class UpstreamError extends Error {
  override name = UpstreamError.name;

  constructor(
    readonly code: string,
    /** False when the connection was never made: nothing reached Amazon, so any method may retry. */
    readonly sent: boolean,
    /** No answer within the time given. */
    readonly timedOut: boolean,
  ) {
    super(`Amazon did not answer (${code})`);
  }
}

/** Amazon's answer as soon as its status and headers are in; the body is the caller's to stream or discard. */
export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/**
 * Reads an answer's body to its end without keeping it (a 401 or 429 before a retry, a 204, a
 * HEAD), so its connection goes back to the pool; an error while doing so is of no interest.
 */
export function discard(response: UpstreamResponse): void {
  response.body.on('error', () => undefined).resume();
}

/** Errors that happen before a connection exists: the request cannot have reached Amazon. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Sends one request to the Ads API and answers as soon as the status and headers are in; the
 * body is the caller's to stream (or to discard). Never follows a redirect (undici's `request`
 * follows none unless told to): a 307 to S3 goes back to the caller as it came, so the access
 * token never travels there. One keep-alive pool per region host: a job's calls reuse
 * connections. undici (the client inside Node, as a package) rather than `node:http`'s: it
 * streams the body with backpressure and ends a body that stalls (no bytes for 300 s), where
 * the hand-written client waited forever. Its throughput here was the same (README, "Measured").
 */
export class AdsUpstream {
  private readonly agent = new Agent({ connections: 256 });

  async send(request: {
    url: URL;
    method: string;
    headers: IncomingHttpHeaders;
    body: Buffer | undefined;
    timeoutMs: number;
    signal: AbortSignal;
  }): Promise<UpstreamResponse> {
    // One signal for undici: the caller going away, or no status and headers within the time
    // given. It stays linked to the caller while the body streams (the caller gone ends it).
    const abort = new AbortController();
    let timedOut = false;
    const onCallerGone = () => abort.abort();
    if (request.signal.aborted) abort.abort();
    else request.signal.addEventListener('abort', onCallerGone, { once: true });
    const timer = setTimeout(
      () => {
        timedOut = true;
        abort.abort();
      },
      Math.max(1, request.timeoutMs),
    );
    try {
      const { statusCode, headers, body } = await this.agent.request({
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method as 'GET',
        headers: request.headers,
        body: request.body,
        signal: abort.signal,
        // Our own timer bounds the wait for the answer; a stalled body ends after undici's
        // idle limit between chunks (300 s).
        headersTimeout: 0,
      });
      return { statusCode, headers, body };
    } catch (error) {
      if (request.signal.aborted)
        throw new UpstreamError('ABORTED', true, false);
      if (timedOut) throw new UpstreamError('ETIMEDOUT', true, true);
      const raw = (error as NodeJS.ErrnoException).code ?? '';
      const code = /^[A-Z0-9_]{1,40}$/.test(raw) ? raw : 'ERROR';
      throw new UpstreamError(code, !NOT_SENT.has(code), false);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.agent.destroy();
  }
}

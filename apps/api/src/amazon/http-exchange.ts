import {
  Agent as HttpAgent,
  IncomingMessage,
  request as httpRequest,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpExchangeRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** Sent as UTF-8 with its Content-Length. */
  body?: string;
}

export interface HttpExchangeAnswer {
  status: number;
  /** Raw header value, when the answer carried one. */
  retryAfter: string | undefined;
  body: string;
}

/** The answer's body was longer than the caller allows. */
export const BODY_TOO_LARGE = 'ERR_BODY_TOO_LARGE';

/** No HTTP answer: refused, reset, DNS, TLS, a body cut short or too large. Never holds the request. */
export class HttpTransportError extends Error {
  constructor(readonly code: string | undefined) {
    super(`HTTP exchange failed${code ? ` (${code})` : ''}`);
    this.name = 'HttpTransportError';
  }
}

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)
    ? code
    : undefined;
};

/**
 * One request, one whole answer, on keep-alive agents: all the LWA client needs, on
 * `node:http(s)` directly. It replaced axios (through `@nestjs/axios`): four packages and
 * about 2 MB of heap for features we did not use (redirects are never followed here, we ask
 * for no compression, we use no proxy). The caller owns deadlines and aborts through `signal`;
 * an abort surfaces as an `HttpTransportError` the caller tells apart by checking its own signal.
 */
export class HttpExchange {
  private readonly httpAgent: HttpAgent;
  private readonly httpsAgent: HttpsAgent;

  /**
   * `maxSockets`: connections at once per host. A request beyond them waits for a free one, and
   * its timeout runs meanwhile, so it must exceed the refreshes a sweep keeps in flight.
   */
  constructor(maxSockets = 32) {
    this.httpAgent = new HttpAgent({ keepAlive: true, maxSockets });
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets });
  }

  send(
    request: HttpExchangeRequest,
    options: { signal: AbortSignal; maxBodyBytes: number },
  ): Promise<HttpExchangeAnswer> {
    return new Promise<HttpExchangeAnswer>((resolve, reject) => {
      let settled = false;
      const fail = (code: string | undefined) => {
        if (settled) return;
        settled = true;
        outgoing.destroy();
        reject(new HttpTransportError(code));
      };
      const url = new URL(request.url);
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') {
        reject(new HttpTransportError('ERR_UNSUPPORTED_PROTOCOL'));
        return;
      }
      const body =
        request.body === undefined
          ? undefined
          : Buffer.from(request.body, 'utf8');
      const headers = body
        ? { ...request.headers, 'Content-Length': String(body.length) }
        : request.headers;
      const outgoing = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: request.method,
          headers,
          agent: secure ? this.httpsAgent : this.httpAgent,
          signal: options.signal,
        },
        (response: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > options.maxBodyBytes) fail(BODY_TOO_LARGE);
            else chunks.push(chunk);
          });
          response.once('error', (error) => fail(codeOf(error)));
          response.once('close', () => {
            if (settled) return;
            if (!response.complete) return fail('ECONNRESET');
            settled = true;
            const retryAfter = response.headers['retry-after'];
            resolve({
              status: response.statusCode ?? 0,
              retryAfter:
                typeof retryAfter === 'string' ? retryAfter : undefined,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      outgoing.once('error', (error) => fail(codeOf(error)));
      outgoing.end(body);
    });
  }

  /** Closes the kept-alive sockets; calls after this still work on fresh sockets. */
  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

import {
  Agent as HttpAgent,
  IncomingMessage,
  OutgoingHttpHeaders,
  request as httpRequest,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

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

/** Errors that happen before a connection exists: the request cannot have reached Amazon. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Sends one request to the Ads API and answers as soon as the status and headers are in; the
 * body is the caller's to stream (or to drain). Never follows a redirect: a 307 to S3 goes back
 * to the caller as it came, so the access token never travels there. Keep-alive agents: a
 * job's calls reuse connections to the region host. `node:http` directly, like the LWA client
 * (amazon/http-exchange.ts): the proxy needs a streamed body and exact bytes, nothing more.
 */
export class AdsUpstream {
  private readonly httpAgent = new HttpAgent({
    keepAlive: true,
    maxSockets: 256,
  });
  private readonly httpsAgent = new HttpsAgent({
    keepAlive: true,
    maxSockets: 256,
  });

  send(request: {
    url: URL;
    method: string;
    headers: OutgoingHttpHeaders;
    body: Buffer | undefined;
    timeoutMs: number;
    signal: AbortSignal;
  }): Promise<IncomingMessage> {
    const https = request.url.protocol === 'https:';
    return new Promise<IncomingMessage>((resolve, reject) => {
      let connected = false;
      let settled = false;
      const fail = (error: UpstreamError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outgoing.destroy();
        reject(error);
      };
      const outgoing = (https ? httpsRequest : httpRequest)(request.url, {
        method: request.method,
        headers: request.headers,
        agent: https ? this.httpsAgent : this.httpAgent,
        signal: request.signal,
      });
      const timer = setTimeout(
        () => fail(new UpstreamError('ETIMEDOUT', connected, true)),
        Math.max(1, request.timeoutMs),
      );
      outgoing.on('socket', (socket) => {
        // A kept-alive socket is connected already.
        if (!socket.connecting) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      outgoing.on('response', (response) => {
        if (settled) {
          response.resume();
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve(response);
      });
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        const code = request.signal.aborted
          ? 'ABORTED'
          : /^[A-Z0-9_]{1,40}$/.test(error.code ?? '')
            ? (error.code as string)
            : 'ERROR';
        fail(new UpstreamError(code, connected || !NOT_SENT.has(code), false));
      });
      outgoing.end(request.body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

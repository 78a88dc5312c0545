import autocannon from 'autocannon';
import { Agent, request as httpRequest } from 'node:http';
import { percentile } from './stats';

export interface LoadResult {
  connections: number;
  durationSeconds: number;
  requests: number;
  /** Requests answered per second over the run. */
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Transport errors (refused, reset, timeouts included). */
  errors: number;
  timeouts: number;
  /** Answers whose status was not the expected one. */
  unexpectedStatus: number;
  statusCodes: Record<string, number>;
}

export interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  headers?: Record<string, string>;
  /** Default 200. */
  expectStatus?: number;
  timeoutSeconds?: number;
  /**
   * Called for every request: its path and headers (the `headers` above are not added), e.g. to
   * go round the connections. Every autocannon connection calls the same function.
   */
  next?: () => { path: string; headers: Record<string, string> };
}

/** One autocannon run in this process (no pipelining, keep-alive connections). */
export async function load(spec: LoadSpec): Promise<LoadResult> {
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    headers: spec.headers,
    requests: spec.next
      ? [
          {
            setupRequest: (request) => {
              const { path, headers } = (
                spec.next as NonNullable<LoadSpec['next']>
              )();
              return { ...request, path, headers };
            },
          },
        ]
      : undefined,
    pipelining: 1,
    timeout: spec.timeoutSeconds ?? 10,
  });
  const statusCodes: Record<string, number> = {};
  const stats =
    (
      result as unknown as {
        statusCodeStats?: Record<string, { count: number }>;
      }
    ).statusCodeStats ?? {};
  for (const [code, entry] of Object.entries(stats))
    statusCodes[code] = entry.count;
  const expected = String(spec.expectStatus ?? 200);
  const answered = Object.values(statusCodes).reduce(
    (sum, count) => sum + count,
    0,
  );
  return {
    connections: spec.connections,
    durationSeconds: result.duration,
    requests: answered,
    rps: answered / result.duration,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    unexpectedStatus: answered - (statusCodes[expected] ?? 0),
    statusCodes,
  };
}

/**
 * An open-loop load at a steady rate: `rate` requests a second, sent a few every 5 ms whatever
 * the answers do, over keep-alive sockets (at most `spec.connections`), each timed from its
 * send to its last byte. autocannon's `overallRate` is not used for this: it sends each
 * second's quota at once and then waits, so a slower server shows the queue of that burst,
 * not its time per request.
 */
export async function paced(
  spec: Omit<LoadSpec, 'next'> & {
    next: NonNullable<LoadSpec['next']>;
    rate: number;
  },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const base = new URL(spec.url);
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  const pending = new Set<Promise<void>>();
  const one = () => {
    const { path, headers } = spec.next();
    const sent = performance.now();
    const done = new Promise<void>((resolve) => {
      const request = httpRequest(
        { host: base.hostname, port: base.port, path, headers, agent },
        (response) => {
          response.on('data', () => undefined);
          response.on('end', () => {
            latencies.push(performance.now() - sent);
            const code = String(response.statusCode ?? 0);
            statusCodes[code] = (statusCodes[code] ?? 0) + 1;
            resolve();
          });
          response.on('error', () => {
            errors += 1;
            resolve();
          });
        },
      );
      request.setTimeout((spec.timeoutSeconds ?? 10) * 1000, () => {
        timeouts += 1;
        request.destroy(new Error('timeout'));
      });
      request.on('error', () => {
        errors += 1;
        resolve();
      });
      request.end();
    });
    pending.add(done);
    void done.then(() => pending.delete(done));
  };
  const tickMs = 5;
  const started = performance.now();
  const total = Math.round(spec.rate * spec.durationSeconds);
  let sentCount = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(
        total,
        Math.floor(((performance.now() - started) / 1000) * spec.rate),
      );
      while (sentCount < due) {
        sentCount += 1;
        one();
      }
      if (sentCount >= total) {
        clearInterval(timer);
        resolve();
      }
    }, tickMs);
  });
  await Promise.all(pending);
  const durationSeconds = (performance.now() - started) / 1000;
  agent.destroy();
  const expected = String(spec.expectStatus ?? 200);
  const answered = latencies.length;
  return {
    connections: spec.connections,
    durationSeconds,
    requests: answered,
    rps: answered / durationSeconds,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.reduce((max, value) => Math.max(max, value), 0),
    errors,
    timeouts,
    unexpectedStatus: answered - (statusCodes[expected] ?? 0),
    statusCodes,
  };
}

import autocannon from 'autocannon';

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
   * Requests per second over all connections (autocannon's `overallRate`): a steady load
   * instead of as fast as the server answers, so latency shows the server's own time rather
   * than the queue a saturated server builds.
   */
  overallRate?: number;
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
    ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
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

// Just enough typing for the two untyped packages the bench uses.
declare module 'autocannon' {
  interface Histogram {
    average: number;
    mean: number;
    max: number;
    p50: number;
    p90: number;
    p99: number;
    total: number;
  }
  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    latency: Histogram;
    requests: Histogram;
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    pipelining?: number;
    timeout?: number;
    headers?: Record<string, string>;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}

declare module 'fernet' {
  export class Secret {
    constructor(key: string);
  }
  export class Token {
    constructor(options: { secret: Secret; ttl: number; token?: string });
    encode(message: string): string;
    decode(token?: string): string;
  }
}

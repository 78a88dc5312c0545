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
  interface Request {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  }
  interface RequestSpec extends Request {
    /** Called before each request is built; what it answers is sent. */
    setupRequest?: (request: Request) => Request;
  }
  interface Options {
    url: string;
    requests?: RequestSpec[];
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

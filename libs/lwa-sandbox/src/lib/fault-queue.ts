import { newOpaqueId } from './credentials';
import { SandboxInputError } from './sandbox-input.error';

/** The endpoints a fault can be queued on. */
export type FaultEndpoint = 'authorize' | 'token' | 'profiles' | 'ads';

/**
 * What the next matching request gets instead of its normal answer.
 * - `429`, `500`, `503`: that status with the endpoint's error body (and `Retry-After` when given).
 * - `timeout`: never answered; the socket is destroyed after `ms`, or held until the client or the sandbox closes.
 * - `reset`: the socket is reset (TCP RST) without an answer.
 * - `slow`: the normal answer, after `ms` (default 1000).
 * - `malformed_json`: 200 with a JSON body cut in half (token, profiles).
 * - `invalid_grant`, `invalid_client`, `unauthorized_client`: that OAuth error from the token endpoint;
 *   on `authorize`, `invalid_client` shows the error page and `unauthorized_client` redirects with that error.
 * - `unauthorized`: 401 from the profiles endpoint or any other Ads path (`ads`), as for an expired token.
 * Scripted errors change no state: a refresh token stays valid after a queued `invalid_grant`.
 */
export type FaultKind =
  | '429'
  | '500'
  | '503'
  | 'timeout'
  | 'reset'
  | 'slow'
  | 'malformed_json'
  | 'invalid_grant'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unauthorized';

/** A fault to queue: JSON body of `POST /__sandbox/faults`, or the argument of `control.queueFault`. */
export interface FaultSpec {
  endpoint: FaultEndpoint;
  kind: FaultKind;
  /** How many requests in a row get it (default 1). */
  count?: number;
  /** `429`/`503` only: seconds (number), or a literal header value such as an HTTP-date. */
  retryAfter?: number | string;
  /** With a numeric `retryAfter`: send it as seconds (default) or as the HTTP-date that many seconds from now. */
  retryAfterFormat?: 'seconds' | 'http-date';
  /** `slow`: delay before answering; `timeout`: how long to hold before destroying the socket. */
  ms?: number;
}

/** A fault waiting in a queue. */
export interface QueuedFault extends FaultSpec {
  id: string;
  /** Requests it will still affect. */
  remaining: number;
}

const COMMON_KINDS: readonly FaultKind[] = [
  '429',
  '500',
  '503',
  'timeout',
  'reset',
  'slow',
];
const KINDS_BY_ENDPOINT: Readonly<Record<FaultEndpoint, readonly FaultKind[]>> =
  {
    authorize: [...COMMON_KINDS, 'invalid_client', 'unauthorized_client'],
    token: [
      ...COMMON_KINDS,
      'malformed_json',
      'invalid_grant',
      'invalid_client',
      'unauthorized_client',
    ],
    profiles: [...COMMON_KINDS, 'malformed_json', 'unauthorized'],
    // Every Ads API path except /v2/profiles (DSP advertisers, reports, echo).
    ads: [...COMMON_KINDS, 'unauthorized'],
  };
export const FAULT_ENDPOINTS: readonly FaultEndpoint[] = [
  'authorize',
  'token',
  'profiles',
  'ads',
];

const MAX_COUNT = 1_000_000_000;
const MAX_MS = 600_000;

function isFaultEndpoint(value: unknown): value is FaultEndpoint {
  return (
    typeof value === 'string' &&
    (FAULT_ENDPOINTS as readonly string[]).includes(value)
  );
}

function wholeNumber(
  name: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < min ||
    value > max
  ) {
    throw new SandboxInputError(
      `${name} must be a whole number from ${min} to ${max}`,
    );
  }
  return value;
}

/** Validates a fault from JSON or code. Accepts `kind` 429/500/503 as numbers too. */
export function parseFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SandboxInputError('a fault must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (
      ![
        'endpoint',
        'kind',
        'count',
        'retryAfter',
        'retryAfterFormat',
        'ms',
      ].includes(key)
    ) {
      throw new SandboxInputError(`unknown fault field "${key}"`);
    }
  }
  const endpoint = raw['endpoint'];
  if (!isFaultEndpoint(endpoint)) {
    throw new SandboxInputError(
      `endpoint must be one of ${FAULT_ENDPOINTS.join(', ')}`,
    );
  }
  const kindValue =
    typeof raw['kind'] === 'number' ? String(raw['kind']) : raw['kind'];
  const allowed = KINDS_BY_ENDPOINT[endpoint];
  const kind = allowed.find((candidate) => candidate === kindValue);
  if (kind === undefined) {
    throw new SandboxInputError(
      `kind for endpoint "${endpoint}" must be one of ${allowed.join(', ')}`,
    );
  }
  const spec: FaultSpec = { endpoint, kind };
  if (raw['count'] !== undefined)
    spec.count = wholeNumber('count', raw['count'], 1, MAX_COUNT);
  if (raw['ms'] !== undefined) {
    if (kind !== 'slow' && kind !== 'timeout')
      throw new SandboxInputError('ms applies to slow and timeout only');
    spec.ms = wholeNumber('ms', raw['ms'], 0, MAX_MS);
  }
  if (
    raw['retryAfter'] !== undefined ||
    raw['retryAfterFormat'] !== undefined
  ) {
    if (kind !== '429' && kind !== '503')
      throw new SandboxInputError('retryAfter applies to 429 and 503 only');
  }
  const retryAfter = raw['retryAfter'];
  if (typeof retryAfter === 'number') {
    spec.retryAfter = wholeNumber('retryAfter', retryAfter, 0, 86_400);
  } else if (typeof retryAfter === 'string') {
    // Printable ASCII only: the value goes into a header verbatim.
    if (!/^[\x20-\x7e]{1,100}$/.test(retryAfter)) {
      throw new SandboxInputError(
        'retryAfter must be 1 to 100 printable ASCII characters',
      );
    }
    spec.retryAfter = retryAfter;
  } else if (retryAfter !== undefined) {
    throw new SandboxInputError(
      'retryAfter must be a number of seconds or a header value string',
    );
  }
  const format = raw['retryAfterFormat'];
  if (format !== undefined) {
    if (format !== 'seconds' && format !== 'http-date') {
      throw new SandboxInputError(
        'retryAfterFormat must be "seconds" or "http-date"',
      );
    }
    if (typeof spec.retryAfter !== 'number') {
      throw new SandboxInputError(
        'retryAfterFormat needs a numeric retryAfter',
      );
    }
    spec.retryAfterFormat = format;
  }
  return spec;
}

/** FIFO queues of faults, one per endpoint; each request takes one use of the head fault. */
export class FaultQueue {
  private readonly queues = new Map<FaultEndpoint, QueuedFault[]>();

  add(spec: FaultSpec): QueuedFault {
    const fault: QueuedFault = {
      ...spec,
      id: newOpaqueId(),
      remaining: spec.count ?? 1,
    };
    const queue = this.queues.get(spec.endpoint);
    if (queue) queue.push(fault);
    else this.queues.set(spec.endpoint, [fault]);
    return { ...fault };
  }

  /** The fault for this request, if any: one use is consumed. */
  take(endpoint: FaultEndpoint): QueuedFault | undefined {
    const queue = this.queues.get(endpoint);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    return { ...head };
  }

  list(): QueuedFault[] {
    return FAULT_ENDPOINTS.flatMap((endpoint) =>
      (this.queues.get(endpoint) ?? []).map((fault) => ({ ...fault })),
    );
  }

  /** Removes the queued faults of one endpoint, or of all; answers how many were removed. */
  clear(endpoint?: FaultEndpoint): number {
    const endpoints = endpoint ? [endpoint] : FAULT_ENDPOINTS;
    let removed = 0;
    for (const each of endpoints) {
      removed += this.queues.get(each)?.length ?? 0;
      this.queues.delete(each);
    }
    return removed;
  }
}

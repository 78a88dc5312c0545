/**
 * Property-based fuzzing of every public input of the API (fast-check). Framework-free: it
 * needs only a way to send a request ({@link SendRequest}), so the Jest suite drives it through
 * `app.inject()` and the bench can drive a running API over HTTP ({@link httpSender}).
 *
 * Properties, for every generated request:
 * - never a 5xx, and an answer within `timeoutMs`;
 * - every 4xx is `{ statusCode, error, message, correlationId }` (nothing else), its
 *   `statusCode` the HTTP status and its `correlationId` the `x-request-id` header;
 * - a caller's acceptable `x-request-id` is echoed, anything else replaced by a UUID;
 * - no error-level log line (an exception nobody expected, even one hidden behind a redirect);
 * plus one per input: the callback always answers 303 to the console without the code in the
 * URL, `start` never redirects anywhere a parameter names, a login never succeeds.
 *
 * `runs` cases per property; {@link fuzzRunsFromEnv} reads `FUZZ_RUNS`, `FUZZ_SEED` a seed.
 */
import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface FuzzRequest {
  method: string;
  /** Path and query, exactly as sent. */
  url: string;
  headers?: Record<string, string>;
  payload?: string;
  /** The client address (inject); over HTTP it goes as X-Forwarded-For. */
  remoteAddress?: string;
}

export interface FuzzResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

export type SendRequest = (request: FuzzRequest) => Promise<FuzzResponse>;

/** The API under test and what the fuzzer may use against it. */
export interface FuzzTarget {
  send: SendRequest;
  /** `atk_session=…` of a logged-in admin: admin routes get past the guard to their inputs. */
  adminCookie: string;
  /** A configured service API key. */
  serviceKey: string;
  /** Connections that exist (renamed and refreshed by the fuzzer, never deleted). */
  connectionIds: readonly string[];
  /** CONSOLE_URL: where the callback sends the browser. */
  consoleUrl: string;
  /** Log lines written since the last call; an error-level one fails the case. Optional. */
  drainLogs?: () => string[];
}

export interface FuzzOptions {
  /** Cases per property. Default {@link fuzzRunsFromEnv}(). */
  runs?: number;
  /** Default `FUZZ_SEED` or random (reported, so a failure can be replayed). */
  seed?: number;
  /** Only these properties (names of {@link FUZZ_PROPERTIES}). Default all. */
  properties?: readonly FuzzPropertyName[];
  /** A request unanswered this long fails the case. Default 10 s. */
  timeoutMs?: number;
  /** Stop at the first failure without shrinking it (faster, bigger counterexample). Default false. */
  endOnFailure?: boolean;
}

export interface FuzzPropertyReport {
  name: FuzzPropertyName;
  runs: number;
  seed: number;
  failed: boolean;
  /** The (shrunk) failing case and why it failed. */
  counterexample?: string;
  durationMs: number;
  /** How many answers of each kind: the status, or for the callback status and outcome (`'303 state_invalid'`). */
  statuses: Record<string, number>;
}

export const FUZZ_PROPERTIES = [
  'callback query',
  'start region',
  'session body',
  'connection body',
  'path ids',
  'audit query',
  'headers',
] as const;
export type FuzzPropertyName = (typeof FUZZ_PROPERTIES)[number];

/** `FUZZ_RUNS` (cases per property), or `fallback`. */
export function fuzzRunsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  fallback = 300,
): number {
  const runs = Number(env.FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : fallback;
}

export function fuzzSeedFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): number | undefined {
  const seed = Number(env.FUZZ_SEED);
  return env.FUZZ_SEED && Number.isInteger(seed) ? seed : undefined;
}

// ---------------------------------------------------------------------------------------------
// Generators

const ACCEPTABLE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A value from a hostile site: any redirect that contains it is an open redirect. */
const EVIL_HOST = 'evil.example';

const printableAscii = fc
  .integer({ min: 0x20, max: 0x7e })
  .map((code) => String.fromCharCode(code));
const latin1 = fc
  .integer({ min: 0xa0, max: 0xff })
  .map((code) => String.fromCharCode(code));

const tricky = fc.constantFrom(
  '',
  ' ',
  '%',
  '%zz',
  '%00',
  '%E2%82',
  '\u0000',
  'a\u0000b',
  '\u001b[31m',
  '\r\nX-Injected: 1',
  '\uFFFF',
  '\uD800',
  '💥',
  'e\u0301',
  '..',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  'toString',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1e309',
  '9007199254740993',
  '[]',
  '{}',
  '{"$ne":null}',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  'javascript:alert(1)',
  `https://${EVIL_HOST}/steal`,
  '//evil.example',
  'A'.repeat(43),
  'na',
  'eu',
  'fe',
);

/** Any text: plain, unicode (graphemes, lone surrogates), tricky constants, or huge. */
const anyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: tricky },
  {
    weight: 1,
    arbitrary: fc.string({
      minLength: 1000,
      maxLength: 6000,
      unit: 'grapheme-ascii',
    }),
  },
);

/** Header values Node accepts: printable ASCII and Latin-1, sometimes long. */
const headerText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.string({ unit: printableAscii, maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: fc.oneof(printableAscii, latin1),
      maxLength: 60,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.string({
      unit: printableAscii,
      minLength: 500,
      maxLength: 4000,
    }),
  },
);

type QueryMode = 'encoded' | 'raw';
const queryMode = fc.constantFrom<QueryMode>(
  'encoded',
  'encoded',
  'encoded',
  'raw',
);

/** A query string from name/value pairs (duplicates kept), encoded properly or sent raw. */
function buildQuery(
  pairs: readonly (readonly [string, string])[],
  mode: QueryMode,
): string {
  const encode = mode === 'encoded' ? encodeText : rawQueryText;
  return pairs
    .map(([name, value]) => `${encode(name)}=${encode(value)}`)
    .join('&');
}

function queryString(
  pairs: fc.Arbitrary<[string, string][]>,
): fc.Arbitrary<string> {
  return fc
    .tuple(pairs, queryMode)
    .map(([entries, mode]) => buildQuery(entries, mode));
}

/** Percent-encoding; a lone surrogate (not UTF-8) goes as its raw bytes, which is not valid UTF-8 either. */
function encodeText(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return Array.from(
      Buffer.from(text, 'utf16le'),
      (byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`,
    ).join('');
  }
}

/** Raw query text: what a sloppy client sends (percent signs, brackets) but still a valid request line. */
function rawQueryText(text: string): string {
  return Array.from(text)
    .map((character) =>
      /^[\x21-\x7e]$/.test(character) && character !== '#'
        ? character
        : encodeText(character),
    )
    .join('');
}

/** A path segment: percent-encoded, or raw printable characters except those that end a path. */
const pathSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: anyText.map((text) => encodeText(text)) },
  {
    weight: 2,
    arbitrary: fc
      .string({ unit: printableAscii, maxLength: 80 })
      .map((text) => text.replace(/[/?# ]/g, '')),
  },
  { weight: 1, arbitrary: fc.uuid().map((id) => id) },
  { weight: 1, arbitrary: fc.uuid().map((id) => id.toUpperCase()) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '%2F',
      '%2e%2e',
      '%252F',
      '%',
      '%zz',
      '%00',
      '00000000-0000-0000-0000-000000000000',
    ),
  },
);

const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(
    undefined,
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'application/json; charset=nonsense',
    'APPLICATION/JSON',
    'application/vnd.api+json',
    'text/plain',
    'text/plain; charset=latin1',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=----x',
    'application/octet-stream',
    'application/xml',
    '*/*',
    '',
    ';',
  ),
  headerText,
);

/** A request body: JSON of any shape, near-JSON, text, or something huge (over the 64 kB limit). */
const body: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 4,
    arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)),
  },
  {
    weight: 3,
    arbitrary: fc
      .dictionary(anyText, fc.jsonValue(), { maxKeys: 4 })
      .map((value) => JSON.stringify(value)),
  },
  { weight: 2, arbitrary: anyText },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"password": ',
      '{"password": "x", "password": "y"}',
      '{"__proto__": {"admin": true}, "password": "x"}',
      '{"constructor": {"prototype": {"admin": true}}}',
      '[',
      'null',
      '"password"',
      '\uFEFF{"password":"x"}',
      'password=x',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 60_000, max: 70_000 })
      .map((size) => JSON.stringify({ password: 'p'.repeat(size) })),
  },
);

/** Mostly JSON, so bodies reach validation rather than stopping at 415. */
const likelyJson: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: contentType },
);

const correlationId: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/),
  fc.constant('x'.repeat(128)),
  fc.constant('x'.repeat(129)),
  headerText,
);

const clientAddress = fc
  .tuple(fc.nat(255), fc.nat(255), fc.nat(255))
  .map(([a, b, c]) => `10.${a}.${b}.${c}`);

// ---------------------------------------------------------------------------------------------
// Checks

class PropertyViolation extends Error {}

function headerOf(response: FuzzResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value)
    ? value.join(', ')
    : value === undefined
      ? undefined
      : String(value);
}

/** The checks every answer must pass, whatever was asked. */
function checkAnswer(
  request: FuzzRequest,
  response: FuzzResponse,
  target: FuzzTarget,
  stray: string[],
): void {
  const fail = (why: string) => {
    throw new PropertyViolation(
      `${why}\n  answered ${response.statusCode}: ${response.body.slice(0, 300)}`,
    );
  };
  if (response.statusCode >= 500) fail('a 5xx');
  const returnedId = headerOf(response, 'x-request-id');
  const sentId = request.headers?.['x-request-id'];
  if (!returnedId) fail('no x-request-id header');
  // Over a socket the HTTP parser drops spaces around a header value (RFC 9110 OWS); inject keeps them.
  const trimmedId = sentId?.replace(/^[ \t]+|[ \t]+$/g, '');
  const echoed =
    sentId !== undefined && ACCEPTABLE_CORRELATION_ID.test(sentId)
      ? returnedId === sentId
      : UUID.test(returnedId ?? '') ||
        (trimmedId !== undefined &&
          ACCEPTABLE_CORRELATION_ID.test(trimmedId) &&
          returnedId === trimmedId);
  if (!echoed) {
    fail(
      `x-request-id ${JSON.stringify(returnedId)} for a request that sent ${JSON.stringify(sentId)}`,
    );
  }
  if (response.statusCode >= 400 && request.method !== 'HEAD') {
    if (!/^application\/json/.test(headerOf(response, 'content-type') ?? ''))
      fail('a 4xx that is not JSON');
    let error: unknown;
    try {
      error = JSON.parse(response.body);
    } catch {
      fail('a 4xx body that does not parse');
    }
    const shape = error as Record<string, unknown>;
    const keys = Object.keys(shape ?? {})
      .sort()
      .join(',');
    if (keys !== 'correlationId,error,message,statusCode')
      fail(`a 4xx body with keys ${keys}`);
    if (shape.statusCode !== response.statusCode)
      fail('a 4xx body whose statusCode is not the status');
    if (
      typeof shape.error !== 'string' ||
      typeof shape.message !== 'string' ||
      shape.message === ''
    )
      fail('a 4xx body without error or message');
    if (shape.correlationId !== returnedId)
      fail('a 4xx body whose correlationId is not the x-request-id header');
  }
  const errors = (target.drainLogs?.() ?? []).filter((line) =>
    /"level":(50|60)\b/.test(line),
  );
  const own = errors.find((line) =>
    line.includes(`"correlationId":${JSON.stringify(returnedId)}`),
  );
  if (own) fail(`an error-level log line: ${own.slice(0, 600)}`);
  // A request's own log line may come a turn after its answer: kept, and fails the property at the end.
  stray.push(...errors);
}

async function sendWithin(
  target: FuzzTarget,
  request: FuzzRequest,
  timeoutMs: number,
): Promise<FuzzResponse> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      target.send(request),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new PropertyViolation(`no answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeRequest(request: FuzzRequest): string {
  const clip = (text: string) =>
    text.length > 400
      ? `${text.slice(0, 400)}… (${text.length} characters)`
      : text;
  return JSON.stringify({
    ...request,
    url: clip(request.url),
    payload: request.payload === undefined ? undefined : clip(request.payload),
  });
}

// ---------------------------------------------------------------------------------------------
// Properties

interface Case {
  request: FuzzRequest;
  /** Completes the request just before it is sent (e.g. with a state the API just issued). */
  prepare?: (target: FuzzTarget, request: FuzzRequest) => Promise<FuzzRequest>;
  /** Extra checks of this input: a message when the answer is wrong. */
  expect?: (response: FuzzResponse, request: FuzzRequest) => string | undefined;
  /** What kind of answer this was, for the report (default the status). */
  label?: (response: FuzzResponse) => string;
  /** The request as finally sent (after `prepare`), for the report. */
  sent?: FuzzRequest;
}

type CaseBuilder = (target: FuzzTarget) => fc.Arbitrary<Case>;

const API = '/api/v1';

/** `GET /auth/amazon/start` as the admin: a live state and the browser binding cookie. */
async function startConsent(
  target: FuzzTarget,
): Promise<{ authorizationUrl: URL; state: string; bindingCookie: string }> {
  const response = await target.send({
    method: 'GET',
    url: `${API}/auth/amazon/start?region=na`,
    headers: { cookie: target.adminCookie },
  });
  const authorizationUrl = new URL(
    headerOf(response, 'location') ?? 'about:blank',
  );
  const binding = /atk_oauth=([^;]*)/.exec(
    headerOf(response, 'set-cookie') ?? '',
  )?.[1];
  const state = authorizationUrl.searchParams.get('state');
  if (response.statusCode !== 302 || !state || !binding)
    throw new Error(
      `start answered ${response.statusCode}: cannot fuzz with live states`,
    );
  return { authorizationUrl, state, bindingCookie: `atk_oauth=${binding}` };
}

/** The code and state Amazon (the sandbox) sends back after an immediate "allow". */
async function consentedCode(
  target: FuzzTarget,
): Promise<{ code: string; state: string; bindingCookie: string }> {
  const { authorizationUrl, bindingCookie } = await startConsent(target);
  authorizationUrl.searchParams.set('sandbox_auto', 'allow');
  const answer = await fetch(authorizationUrl, { redirect: 'manual' });
  const back = new URL(answer.headers.get('location') ?? 'about:blank');
  const code = back.searchParams.get('code');
  const state = back.searchParams.get('state');
  if (!code || !state)
    throw new Error(
      `the consent page answered ${answer.status}: cannot fuzz with real codes`,
    );
  return { code, state, bindingCookie };
}

const callbackCases: CaseBuilder = (target) => {
  const name = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        'code',
        'state',
        'error',
        'error_description',
        'scope',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'redirect_uri',
        'return_to',
        'iss',
        'region',
        'code[]',
        'state[0]',
        'CODE',
        '',
      ),
    },
    { weight: 1, arbitrary: anyText },
  );
  const value = fc.oneof(
    { weight: 3, arbitrary: anyText },
    {
      weight: 1,
      arbitrary: fc
        .base64String({ minLength: 40, maxLength: 48 })
        .map((text) =>
          text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, ''),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'access_denied',
        'server_error',
        'invalid_scope',
        'temporarily_unavailable',
      ),
    },
  );
  const cookie = fc.oneof(
    fc.constant(undefined),
    fc.constant('atk_oauth=' + 'A'.repeat(43)),
    headerText.map((text) => `atk_oauth=${text}`),
    fc.constant(target.adminCookie),
    headerText,
  );
  return fc
    .record({
      pairs: fc.array(fc.tuple(name, value), { maxLength: 8 }),
      // none: only what was generated; state: a live state and its browser; consented: a real code too.
      flow: fc.constantFrom('none', 'none', 'none', 'state', 'consented'),
      keepBinding: fc.boolean(),
      mode: queryMode,
      cookie,
      id: correlationId,
    })
    .map(({ pairs, flow, keepBinding, mode, cookie: sentCookie, id }) => ({
      request: {
        method: 'GET',
        url: `${API}/auth/amazon/callback${pairs.length > 0 ? `?${buildQuery(pairs, mode)}` : ''}`,
        headers: withDefined({ cookie: sentCookie, 'x-request-id': id }),
      },
      prepare: async (
        fuzzTarget: FuzzTarget,
        request: FuzzRequest,
      ): Promise<FuzzRequest> => {
        if (flow === 'none') return request;
        const live =
          flow === 'state'
            ? { ...(await startConsent(fuzzTarget)), code: undefined }
            : await consentedCode(fuzzTarget);
        const rest = pairs.filter(
          ([key]) => !(key === 'state' || (live.code && key === 'code')),
        );
        const entries: [string, string][] = [
          ['state', live.state],
          ...(live.code ? [['code', live.code] as [string, string]] : []),
          ...rest,
        ];
        const headers = { ...request.headers };
        if (keepBinding) headers.cookie = live.bindingCookie;
        return {
          ...request,
          url: `${API}/auth/amazon/callback?${buildQuery(entries, mode)}`,
          headers,
        };
      },
      expect: (response: FuzzResponse, sent: FuzzRequest) => {
        if (response.statusCode !== 303)
          return `the callback answered ${response.statusCode}, not 303`;
        const location = headerOf(response, 'location') ?? '';
        if (!location.startsWith(`${target.consoleUrl}/connections?connect=`))
          return `the callback sent the browser to ${location}`;
        if (headerOf(response, 'referrer-policy') !== 'no-referrer')
          return 'the callback has no Referrer-Policy: no-referrer';
        if (headerOf(response, 'cache-control') !== 'no-store')
          return 'the callback may be cached';
        const codes = new URLSearchParams(sent.url.split('?')[1] ?? '')
          .getAll('code')
          // Secret-like codes only: letters and digits, long; short words ("server_error") may
          // rightly appear in the reason the console shows.
          .filter(
            (code) =>
              code.length >= 12 && /\d/.test(code) && /[A-Za-z]/.test(code),
          );
        const leaked = codes.find(
          (code) =>
            location.includes(code) || location.includes(encodeText(code)),
        );
        return leaked
          ? 'the callback put the code into the URL it redirected to'
          : undefined;
      },
      label: (response: FuzzResponse) =>
        `${response.statusCode} ${new URL(headerOf(response, 'location') ?? 'http://x').searchParams.get('connect')}`,
    }));
};

function withDefined(
  headers: Record<string, string | undefined>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
}

const startCases: CaseBuilder = (target) => {
  const region = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom('na', 'eu', 'fe') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'NA',
        'us',
        ' na',
        'na ',
        '',
        'na,eu',
        'na\u0000',
      ),
    },
    { weight: 3, arbitrary: anyText },
  );
  const extra = fc.tuple(
    fc.constantFrom(
      'redirect_uri',
      'return_to',
      'returnTo',
      'next',
      'callback',
      'state',
      'client_id',
      'code_challenge_method',
      'scope',
    ),
    fc.constantFrom(
      `https://${EVIL_HOST}/cb`,
      `//${EVIL_HOST}`,
      `http://localhost:3000.${EVIL_HOST}/`,
      'plain',
      `https://${EVIL_HOST}/%2F..`,
    ),
  );
  return fc
    .record({
      regions: fc.oneof(
        { weight: 3, arbitrary: region.map((one) => [one]) },
        { weight: 1, arbitrary: fc.array(region, { maxLength: 3 }) },
      ),
      extras: fc.oneof(
        { weight: 1, arbitrary: fc.constant([]) },
        {
          weight: 1,
          arbitrary: fc.array(extra, { minLength: 1, maxLength: 2 }),
        },
      ),
      id: correlationId,
    })
    .map(({ regions, extras, id }) => {
      const query = [
        ...regions.map((value) => ['region', value] as const),
        ...extras,
      ]
        .map(([name, value]) => `${name}=${encodeText(value)}`)
        .join('&');
      return {
        request: {
          method: 'GET',
          url: `${API}/auth/amazon/start${query ? `?${query}` : ''}`,
          headers: withDefined({
            cookie: target.adminCookie,
            'x-request-id': id,
          }),
        },
        expect: (response: FuzzResponse) => {
          if (response.statusCode !== 302 && response.statusCode !== 400)
            return `start answered ${response.statusCode}`;
          if (
            response.statusCode === 302 &&
            (regions.length !== 1 || extras.length > 0)
          )
            return 'start accepted an unclean query';
          const location = headerOf(response, 'location') ?? '';
          if (
            location.includes(EVIL_HOST) ||
            location.includes(encodeURIComponent(EVIL_HOST))
          )
            return `start redirected to ${location}`;
          if (
            response.statusCode === 302 &&
            new URL(location).searchParams.get('code_challenge_method') !==
              'S256'
          )
            return 'start without PKCE S256';
          return undefined;
        },
      };
    });
};

const sessionCases: CaseBuilder = () =>
  fc
    .record({
      type: likelyJson,
      payload: fc.oneof(
        { weight: 2, arbitrary: body },
        {
          weight: 1,
          arbitrary: fc
            .oneof(anyText, fc.jsonValue())
            .map((password) => JSON.stringify({ password })),
        },
      ),
      id: correlationId,
      address: clientAddress,
      method: fc.constantFrom('POST', 'POST', 'POST', 'POST', 'PUT', 'PATCH'),
    })
    .map(({ type, payload, id, address, method }) => ({
      request: {
        method,
        url: `${API}/session`,
        headers: withDefined({ 'content-type': type, 'x-request-id': id }),
        payload,
        remoteAddress: address,
      },
      expect: (response: FuzzResponse) =>
        response.statusCode < 400
          ? `a login with a generated password answered ${response.statusCode}`
          : undefined,
    }));

const connectionBodyCases: CaseBuilder = (target) => {
  const id =
    target.connectionIds.length > 0
      ? fc.oneof(fc.constantFrom(...target.connectionIds), fc.uuid())
      : fc.uuid();
  const label = fc.oneof(anyText, fc.jsonValue());
  const payload = fc.oneof(
    label.map((value) => JSON.stringify({ label: value })),
    fc
      .tuple(label, fc.dictionary(anyText, fc.jsonValue(), { maxKeys: 3 }))
      .map(([value, rest]) => JSON.stringify({ ...rest, label: value })),
    body,
  );
  return fc
    .record({
      id,
      type: likelyJson,
      payload,
      requestId: correlationId,
      method: fc.constantFrom(
        'PATCH',
        'PATCH',
        'PATCH',
        'PATCH',
        'PUT',
        'POST',
      ),
    })
    .map(({ id: connectionId, type, payload: sent, requestId, method }) => ({
      request: {
        method,
        url: `${API}/connections/${connectionId}`,
        headers: withDefined({
          cookie: target.adminCookie,
          'content-type': type,
          'x-request-id': requestId,
        }),
        payload: sent,
      },
    }));
};

const pathIdCases: CaseBuilder = (target) =>
  fc
    .record({
      id: pathSegment,
      route: fc.constantFrom(
        'get',
        'rename',
        'refresh',
        'delete',
        'access-token',
        'access-token-admin',
        'head',
      ),
      requestId: correlationId,
    })
    .map(({ id, route, requestId }) => {
      const admin = { cookie: target.adminCookie };
      const service = { authorization: `Bearer ${target.serviceKey}` };
      const base = `${API}/connections/${id}`;
      const requests: Record<typeof route, FuzzRequest> = {
        get: { method: 'GET', url: base, headers: admin },
        head: { method: 'HEAD', url: base, headers: admin },
        rename: {
          method: 'PATCH',
          url: base,
          headers: { ...admin, 'content-type': 'application/json' },
          payload: '{"label":"fuzzed"}',
        },
        refresh: { method: 'POST', url: `${base}/refresh`, headers: admin },
        // Only ids that are not a stored connection's: the fuzzer never disconnects one.
        delete: {
          method: 'DELETE',
          url: target.connectionIds.includes(id)
            ? `${API}/connections/${id}x`
            : base,
          headers: admin,
        },
        'access-token': {
          method: 'GET',
          url: `${base}/access-token`,
          headers: service,
        },
        'access-token-admin': {
          method: 'GET',
          url: `${base}/access-token`,
          headers: admin,
        },
      };
      const request = requests[route];
      return {
        request: {
          ...request,
          headers: withDefined({
            ...request.headers,
            'x-request-id': requestId,
          }),
        },
      };
    });

const auditQueryCases: CaseBuilder = (target) => {
  const name = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom('connectionId', 'type', 'before', 'limit'),
    },
    { weight: 1, arbitrary: anyText },
  );
  const value = fc.oneof(
    anyText,
    fc.uuid(),
    fc.constantFrom(
      'refreshed',
      'connected',
      'login_failed',
      '1',
      '200',
      '201',
      '0',
      '-5',
      '1.5',
      '99999999999999999999',
      '1e3',
    ),
    fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(String),
  );
  return fc
    .record({
      query: queryString(fc.array(fc.tuple(name, value), { maxLength: 5 })),
      id: correlationId,
    })
    .map(({ query, id }) => ({
      request: {
        method: 'GET',
        url: `${API}/audit-events${query ? `?${query}` : ''}`,
        headers: withDefined({
          cookie: target.adminCookie,
          'x-request-id': id,
        }),
      },
    }));
};

const headerCases: CaseBuilder = (target) => {
  const someId =
    target.connectionIds[0] ?? '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';
  const routes: readonly FuzzRequest[] = [
    { method: 'GET', url: `${API}/connections` },
    { method: 'GET', url: `${API}/connections/${someId}` },
    {
      method: 'PATCH',
      url: `${API}/connections/${someId}`,
      payload: '{"label":"header fuzz"}',
    },
    { method: 'POST', url: `${API}/connections/${someId}/refresh` },
    { method: 'GET', url: `${API}/connections/${someId}/access-token` },
    {
      method: 'DELETE',
      url: `${API}/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12`,
    },
    { method: 'GET', url: `${API}/audit-events?limit=5` },
    { method: 'GET', url: `${API}/system` },
    { method: 'GET', url: `${API}/session` },
    {
      method: 'POST',
      url: `${API}/session`,
      payload: '{"password":"not the password"}',
    },
    { method: 'GET', url: `${API}/auth/amazon/start?region=eu` },
    {
      method: 'GET',
      url: `${API}/auth/amazon/callback?code=ANfuzz&state=${'A'.repeat(43)}`,
    },
    { method: 'GET', url: '/health/live' },
    { method: 'GET', url: '/health/ready' },
    { method: 'GET', url: '/metrics' },
    { method: 'GET', url: `${API}/nowhere` },
    { method: 'OPTIONS', url: `${API}/connections` },
  ];
  const realCookie = target.adminCookie;
  const cookie = fc.oneof(
    fc.constant(realCookie),
    fc.constant(
      `${realCookie.slice(0, -1)}${realCookie.endsWith('A') ? 'B' : 'A'}`,
    ),
    fc.constant(`${realCookie}; ${realCookie}`),
    fc.constant(`atk_session=; ${realCookie}`),
    headerText.map((text) => `atk_session=${text}`),
    headerText.map((text) => `${realCookie}${text}`),
    headerText,
  );
  const authorization = fc.oneof(
    fc.constant(`Bearer ${target.serviceKey}`),
    fc.constant(`bearer ${target.serviceKey}`),
    fc.constant(`Bearer ${target.serviceKey} `),
    fc.constant(`Bearer ${target.serviceKey}x`),
    fc.constant(`Bearer  ${target.serviceKey}`),
    fc.constant(
      `Basic ${Buffer.from(`x:${target.serviceKey}`).toString('base64')}`,
    ),
    headerText.map((text) => `Bearer ${text}`),
    headerText,
  );
  const origin = fc.oneof(
    fc.constant(new URL(target.consoleUrl).origin),
    fc.constantFrom('null', `https://${EVIL_HOST}`, 'http://localhost:3000'),
    fc.webUrl(),
    headerText,
  );
  const fetchSite = fc.oneof(
    fc.constantFrom(
      'same-origin',
      'same-site',
      'cross-site',
      'none',
      'SAME-ORIGIN',
    ),
    headerText,
  );
  const header = <T>(value: fc.Arbitrary<T>) =>
    fc.option(value, { nil: undefined, freq: 3 });
  return fc
    .record({
      route: fc.constantFrom(...routes),
      cookie: header(cookie),
      authorization: header(authorization),
      origin: header(origin),
      'sec-fetch-site': header(fetchSite),
      'content-type': header(
        contentType.filter((value): value is string => value !== undefined),
      ),
      'x-request-id': header(headerText),
      'x-forwarded-for': header(fc.oneof(fc.ipV4(), fc.ipV6(), headerText)),
      'x-forwarded-proto': header(
        fc.oneof(fc.constantFrom('https', 'http', 'gopher'), headerText),
      ),
      accept: header(
        fc.oneof(
          fc.constantFrom('text/event-stream', 'application/json', '*/*'),
          headerText,
        ),
      ),
      address: clientAddress,
    })
    .map(({ route, address, ...headers }) => ({
      request: {
        ...route,
        headers: withDefined(headers),
        remoteAddress: address,
      },
      expect: (response: FuzzResponse) =>
        route.method === 'POST' &&
        route.url.endsWith('/session') &&
        response.statusCode < 400
          ? 'a wrong password logged in'
          : undefined,
    }));
};

const BUILDERS: Record<FuzzPropertyName, CaseBuilder> = {
  'callback query': callbackCases,
  'start region': startCases,
  'session body': sessionCases,
  'connection body': connectionBodyCases,
  'path ids': pathIdCases,
  'audit query': auditQueryCases,
  headers: headerCases,
};

/** Runs the properties against `target`; answers one report per property (never throws on a failure). */
export async function runHttpFuzz(
  target: FuzzTarget,
  options: FuzzOptions = {},
): Promise<FuzzPropertyReport[]> {
  const runs = options.runs ?? fuzzRunsFromEnv();
  const seed =
    options.seed ?? fuzzSeedFromEnv() ?? Math.floor(Math.random() * 2 ** 31);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const reports: FuzzPropertyReport[] = [];
  for (const name of options.properties ?? FUZZ_PROPERTIES) {
    const statuses: Record<string, number> = {};
    const started = Date.now();
    target.drainLogs?.();
    const property = fc.asyncProperty(
      BUILDERS[name](target),
      async (fuzzCase) => {
        const request = fuzzCase.prepare
          ? await fuzzCase.prepare(target, fuzzCase.request)
          : fuzzCase.request;
        fuzzCase.sent = request;
        const response = await sendWithin(target, request, timeoutMs);
        const label = fuzzCase.label?.(response) ?? String(response.statusCode);
        statuses[label] = (statuses[label] ?? 0) + 1;
        checkAnswer(request, response, target, stray);
        const problem = fuzzCase.expect?.(response, request);
        if (problem)
          throw new PropertyViolation(
            `${problem}\n  answered ${response.statusCode}: ${response.body.slice(0, 300)}`,
          );
      },
    );
    // Error-level lines not attributable to the case being checked (see checkAnswer).
    const stray: string[] = [];
    const details = await fc.check(property, {
      numRuns: runs,
      seed,
      endOnFailure: options.endOnFailure ?? false,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    stray.push(
      ...(target.drainLogs?.() ?? []).filter((line) =>
        /"level":(50|60)\b/.test(line),
      ),
    );
    const failedCase = details.counterexample?.[0] as Case | undefined;
    reports.push({
      name,
      runs: details.numRuns,
      seed,
      failed: details.failed || stray.length > 0,
      counterexample: details.failed
        ? `${failedCase ? describeRequest(failedCase.sent ?? failedCase.request) : '(no case)'}\n  ${describeError(details.errorInstance)}\n  replay: FUZZ_SEED=${seed} (path ${details.counterexamplePath})`
        : stray.length > 0
          ? `error-level log lines: ${stray
              .slice(0, 3)
              .map((line) => line.slice(0, 600))
              .join('\n')}\n  replay: FUZZ_SEED=${seed}`
          : undefined,
      durationMs: Date.now() - started,
      statuses,
    });
  }
  return reports;
}

function describeError(error: unknown): string {
  return error instanceof PropertyViolation
    ? error.message
    : error instanceof Error
      ? `${error.name}: ${error.message}`
      : String(error);
}

/**
 * A target for a running API (the bench): logs in with the admin password, lists the existing
 * connections (the fuzzer renames and refreshes them, never deletes one).
 *
 * ```ts
 * const send = httpSender(api.url);
 * const target = await prepareFuzzTarget(send, { adminPassword, serviceKey, consoleUrl });
 * const reports = await runHttpFuzz(target, { runs: fuzzRunsFromEnv(process.env, 5000) });
 * ```
 */
export async function prepareFuzzTarget(
  send: SendRequest,
  options: {
    adminPassword: string;
    serviceKey: string;
    consoleUrl: string;
    drainLogs?: () => string[];
  },
): Promise<FuzzTarget> {
  const login = await send({
    method: 'POST',
    url: `${API}/session`,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ password: options.adminPassword }),
    remoteAddress: `10.250.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
  });
  const session = /atk_session=([^;]*)/.exec(
    headerOf(login, 'set-cookie') ?? '',
  )?.[1];
  if (login.statusCode !== 201 || !session)
    throw new Error(`logging in answered ${login.statusCode}`);
  const adminCookie = `atk_session=${session}`;
  const list = await send({
    method: 'GET',
    url: `${API}/connections`,
    headers: { cookie: adminCookie },
  });
  // The first page (50, oldest first) is plenty of targets for the cases.
  const connectionIds =
    list.statusCode === 200
      ? (JSON.parse(list.body) as { items: { id: string }[] }).items.map(
          (connection) => connection.id,
        )
      : [];
  return {
    send,
    adminCookie,
    serviceKey: options.serviceKey,
    connectionIds,
    consoleUrl: options.consoleUrl,
    drainLogs: options.drainLogs,
  };
}

/** For a running API (the bench): requests over HTTP(S) with node:http, addresses as X-Forwarded-For. */
export function httpSender(baseUrl: string): SendRequest {
  const base = new URL(baseUrl);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return (request) =>
    new Promise<FuzzResponse>((resolve, reject) => {
      const headers: Record<string, string> = { ...request.headers };
      if (request.remoteAddress && !headers['x-forwarded-for'])
        headers['x-forwarded-for'] = request.remoteAddress;
      if (request.payload !== undefined)
        headers['content-length'] = String(Buffer.byteLength(request.payload));
      const outgoing = send(
        {
          host: base.hostname,
          port: base.port,
          method: request.method,
          path: request.url,
          headers,
          insecureHTTPParser: false,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              statusCode: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(request.payload);
    });
}

/**
 * Log lines must never carry a secret. pino's `redact` needs exact paths; our rule is "any
 * field named like a token, code, secret or password, at any depth", so log objects pass
 * through {@link redactSecrets} instead, and strings are scrubbed of LWA token shapes.
 */
const SENSITIVE_KEY =
  /^(code|.*_code|authorizationcode|.*(token|secret|password|passwd|verifier|cookie|authorization|apikey|api_key|credential|state).*)$/i;

/** LWA access (`Atza|…`) and refresh (`Atzr|…`) tokens, and Fernet ciphertexts. */
const TOKEN_SHAPES =
  /\b(Atz[ar])\|[A-Za-z0-9\-_.~+/=|%]+|\bgAAAAA[A-Za-z0-9\-_=]{20,}/g;

const REDACTED = '[Redacted]';

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

export function scrubString(text: string): string {
  return text.replace(TOKEN_SHAPES, (match, prefix?: string) =>
    prefix ? `${prefix}|${REDACTED}` : REDACTED,
  );
}

/**
 * Query parameters whose values may be logged: a short list of names that never carry a secret.
 * Every other value is replaced (the callback's `code` and `state`, a key sent as `?key=`, an
 * `auth=` or `authCode=`, and whatever a caller invents); the name stays, so a line still says
 * what was asked.
 */
const LOGGABLE_QUERY_PARAMS = new Set(
  [
    'region',
    'status',
    'type',
    'limit',
    'page',
    'cursor',
    'before',
    'sort',
    'order',
    'connectionId',
    'scope',
    'error',
    'outcome',
  ].map((name) => name.toLowerCase()),
);

export function isLoggableQueryParam(name: string): boolean {
  return LOGGABLE_QUERY_PARAMS.has(name.toLowerCase());
}

/** Connection and audit ids (UUIDs, numbers) and route words stay in a logged path. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Words of 1 to 12 characters joined by `-`, `_` or `.`: no route word has a longer one. */
const ROUTE_WORD = /^[a-z][a-z0-9]{0,11}(?:[-_.][a-z0-9]{1,12})*$/;

/**
 * A path segment that may be a secret: 20 or more characters that are neither a UUID nor a
 * lower-case route word (`access-token`, `swagger-ui-bundle.js`); a hex key, all lower case,
 * is one long word and so is masked. Random tokens in a path (a link for an
 * account owner, a key pasted into the wrong place) are masked; ids and routes are kept.
 */
function isSecretLikeSegment(segment: string): boolean {
  return (
    segment.length >= 20 && !UUID.test(segment) && !ROUTE_WORD.test(segment)
  );
}

/**
 * The segment after `/connect/` is a connect link's secret (but for the `done` page), masked
 * whatever it looks like: a random secret can, rarely, be shaped like a route word.
 */
const CONNECT_LINK_SEGMENT = 'connect';

export function redactPath(path: string): string {
  const segments = path.split('/');
  return segments
    .map((segment, index) =>
      isSecretLikeSegment(segment) ||
      (index > 0 &&
        segments[index - 1] === CONNECT_LINK_SEGMENT &&
        segment !== 'done' &&
        segment !== '')
        ? REDACTED
        : segment,
    )
    .join('/');
}

/** A request URL as it may be logged: secret-like path segments and unlisted query values masked. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  const path = redactPath(queryStart < 0 ? url : url.slice(0, queryStart));
  if (queryStart < 0) return scrubString(path);
  const params = new URLSearchParams(url.slice(queryStart + 1));
  const kept = new URLSearchParams();
  for (const [key, value] of params) {
    const loggable = isLoggableQueryParam(key) && !isSensitiveKey(key);
    // A name can be the secret too (`?<key>` with no value).
    kept.append(
      loggable || !isSecretLikeSegment(key) ? key : REDACTED,
      loggable ? value : REDACTED,
    );
  }
  const query = kept.toString().replace(/%5BRedacted%5D/g, REDACTED);
  return scrubString(`${path}?${query}`);
}

export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrubString(value.message),
      stack: value.stack && scrubString(value.stack),
    };
  }
  if (Array.isArray(value))
    return value.map((item) => redactSecrets(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] =
      isSensitiveKey(key) && item !== null && item !== undefined
        ? REDACTED
        : redactSecrets(item, depth + 1);
  }
  return result;
}

/**
 * Log lines must never carry a secret. pino's `redact` needs exact paths; our rule is "any
 * field named like a token, code, secret or password, at any depth", so log objects pass
 * through {@link redactSecrets} instead, and strings are scrubbed of LWA token shapes.
 */
const SENSITIVE_KEY =
  /^(code|.*_code|authorizationcode|.*(token|secret|password|passwd|verifier|cookie|authorization|apikey|api_key|credential|state).*)$/i;

/** LWA access (`Atza|…`) and refresh (`Atzr|…`) tokens, and Fernet ciphertexts. */
const TOKEN_SHAPES = /\b(Atz[ar])\|[A-Za-z0-9\-_.~+/=|%]+|\bgAAAAA[A-Za-z0-9\-_=]{20,}/g;

const REDACTED = '[Redacted]';

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

export function scrubString(text: string): string {
  return text.replace(TOKEN_SHAPES, (match, prefix?: string) => (prefix ? `${prefix}|${REDACTED}` : REDACTED));
}

/** Query parameters whose values never reach a log (the callback carries `code` and `state`). */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return scrubString(url);
  const params = new URLSearchParams(url.slice(queryStart + 1));
  for (const key of [...params.keys()]) {
    if (isSensitiveKey(key)) params.set(key, REDACTED);
  }
  const query = params.toString().replace(/%5BRedacted%5D/g, REDACTED);
  return scrubString(`${url.slice(0, queryStart)}?${query}`);
}

export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) {
    return { type: value.name, message: scrubString(value.message), stack: value.stack && scrubString(value.stack) };
  }
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] = isSensitiveKey(key) && item !== null && item !== undefined ? REDACTED : redactSecrets(item, depth + 1);
  }
  return result;
}

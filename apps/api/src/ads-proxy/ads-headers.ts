import type { IncomingHttpHeaders } from 'node:http';

/**
 * Which headers cross the proxy. Towards Amazon only an allow-list: Amazon's own headers (the
 * profile scope, the account id, and any other `Amazon-Advertising-API-*` or `Amazon-Ads-*`),
 * content negotiation and the body's type and encoding. Never the caller's credentials
 * (`Authorization` carries the keeper's service key; cookies), nor hop-by-hop headers: the
 * keeper sets `Authorization` and the client id itself.
 */
const PASSED_REQUEST_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'content-type',
  'content-encoding',
  'if-match',
  'if-none-match',
  'prefer',
]);
const CLIENT_ID_HEADER = 'amazon-advertising-api-clientid';
export const SCOPE_HEADER = 'amazon-advertising-api-scope';

/** RFC 9110 section 7.6.1, and the ones proxies conventionally drop too. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function isAmazonHeader(name: string): boolean {
  return (
    (name.startsWith('amazon-advertising-api-') ||
      name.startsWith('amazon-ads-')) &&
    name !== CLIENT_ID_HEADER
  );
}

/** The headers to send Amazon: the caller's allowed ones, then the keeper's credentials. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  credentials: { accessToken: string; clientId: string },
  bodyLength: number | undefined,
): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  const connectionTokens = connectionHeaderNames(incoming.connection);
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || connectionTokens.has(name)) continue;
    if (PASSED_REQUEST_HEADERS.has(name) || isAmazonHeader(name))
      headers[name] = value;
  }
  headers['authorization'] = `Bearer ${credentials.accessToken}`;
  headers[CLIENT_ID_HEADER] = credentials.clientId;
  headers['user-agent'] = 'ads-token-keeper';
  if (bodyLength !== undefined) headers['content-length'] = String(bodyLength);
  return headers;
}

/** Amazon's answer headers for the caller: all but hop-by-hop ones, cookies and `x-keeper-*`. */
export function downstreamResponseHeaders(
  upstream: IncomingHttpHeaders,
): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  const connectionTokens = connectionHeaderNames(upstream.connection);
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || connectionTokens.has(name)) continue;
    if (name === 'set-cookie' || name === 'set-cookie2') continue;
    // The keeper's own marks: only the keeper sets them, so Amazon's answer never looks like one.
    if (name.startsWith('x-keeper-')) continue;
    headers[name] = value;
  }
  return headers;
}

const NO_NAMES: ReadonlySet<string> = new Set();

/** Headers a `Connection` header names are hop-by-hop too (RFC 9110 section 7.6.1). */
function connectionHeaderNames(
  value: string | string[] | undefined,
): ReadonlySet<string> {
  // The usual values name no other header: no set to build on every call.
  if (value === undefined || value === 'keep-alive' || value === 'close')
    return NO_NAMES;
  const names = new Set<string>();
  for (const part of [value ?? []].flat().join(',').split(','))
    if (part.trim()) names.add(part.trim().toLowerCase());
  return names;
}

/** The caller's profile scope, when it sent exactly one well-formed value. */
export function scopeOf(
  incoming: IncomingHttpHeaders,
): string | undefined | { invalid: string } {
  const value = incoming[SCOPE_HEADER];
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  return /^\d{1,20}$/.test(text.trim())
    ? text.trim()
    : { invalid: text.slice(0, 40) };
}

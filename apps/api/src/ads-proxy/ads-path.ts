import { redactPath } from '../common/log-redaction';

/**
 * Which Ads API path a proxied call names, and whether it may be sent. The caller's path and
 * query go to Amazon as they came (still percent-encoded), so nothing the caller writes may make
 * the request leave the connection's region host or climb out of the path it named: an absolute
 * URL, `//host`, a `.` or `..` segment, and their encoded forms (`%2e%2e`, `%2f`, `%5c`,
 * double-encoded `%25…`) are refused before anything is sent.
 */

/** A path segment or query as RFC 3986 allows them, still percent-encoded. */
const PCHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const MAX_PATH_LENGTH = 2_048;
const MAX_QUERY_LENGTH = 8_192;

export class AdsPathError extends Error {
  override name = AdsPathError.name;
}

export interface AdsTarget {
  /** What follows `/ads` in the caller's URL: starts with `/`, still percent-encoded. */
  path: string;
  /** The raw query (without `?`), or '' for none. */
  query: string;
}

/**
 * Splits the raw request URL (`/api/v1/connections/<id>/ads/<path>?<query>`) and checks what
 * follows `/ads`. Throws {@link AdsPathError} with a message fit for the caller.
 */
export function adsTargetOf(rawUrl: string): AdsTarget {
  const questionMark = rawUrl.indexOf('?');
  const rawPath = questionMark < 0 ? rawUrl : rawUrl.slice(0, questionMark);
  const query = questionMark < 0 ? '' : rawUrl.slice(questionMark + 1);
  const marker = /^\/[^?]*?\/connections\/[^/]+\/ads(?=\/|$)/.exec(rawPath);
  if (!marker) throw new AdsPathError('This is not an Ads API proxy path.');
  const path = rawPath.slice(marker[0].length);
  checkPath(path);
  checkQuery(query);
  return { path, query };
}

function checkPath(path: string): void {
  if (path === '' || path === '/')
    throw new AdsPathError(
      'Name an Ads API path after /ads, for example /ads/v2/profiles.',
    );
  if (path.length > MAX_PATH_LENGTH)
    throw new AdsPathError(
      `The Ads API path is longer than ${MAX_PATH_LENGTH} characters.`,
    );
  const segments = path.slice(1).split('/');
  for (const [index, segment] of segments.entries()) {
    // An empty segment: `//host` at the start, or `a//b` (which some servers fold).
    if (segment === '' && index < segments.length - 1)
      throw new AdsPathError('The Ads API path has an empty segment (//).');
    if (!PCHARS.test(segment) || BAD_PERCENT.test(segment))
      throw new AdsPathError(
        'The Ads API path has a character that must be percent-encoded.',
      );
    const decoded = decodeURIComponent(segment);
    if (decoded === '.' || decoded === '..')
      throw new AdsPathError(
        'The Ads API path may not contain "." or ".." segments.',
      );
    // Encoded separators, a second layer of encoding or control characters would mean
    // something else to the next server that decodes the path.
    if (/[/\\%]/.test(decoded) || hasControlCharacter(decoded))
      throw new AdsPathError(
        'The Ads API path may not encode "/", "\\", "%" or control characters.',
      );
  }
}

function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function checkQuery(query: string): void {
  if (query.length > MAX_QUERY_LENGTH)
    throw new AdsPathError(
      `The query is longer than ${MAX_QUERY_LENGTH} characters.`,
    );
  if (!QUERY_CHARS.test(query) || BAD_PERCENT.test(query))
    throw new AdsPathError(
      'The query has a character that must be percent-encoded.',
    );
}

/**
 * The URL to send: the region's Ads API base and the target. Refuses (throws) when the URL the
 * parser builds would point anywhere else than the base host and the named path: the last check
 * before a request leaves.
 */
export function upstreamUrl(adsApiUrl: string, target: AdsTarget): URL {
  const base = new URL(adsApiUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const url = new URL(
    `${base.origin}${basePath}${target.path}${target.query ? `?${target.query}` : ''}`,
  );
  if (url.origin !== base.origin || url.pathname !== basePath + target.path)
    throw new AdsPathError('The Ads API path would leave the Amazon host.');
  return url;
}

/**
 * The path for logs: secret-like segments masked as in every request line (`redactPath`), and
 * the query's names without their values (ids, dates, tokens in URLs).
 */
export function loggedPath(target: AdsTarget): string {
  const path = redactPath(target.path);
  if (!target.query) return path;
  const names = target.query
    .split('&')
    .map((pair) => pair.split('=')[0])
    .filter((name) => name !== '');
  return `${path}?${names.map((name) => `${name}=…`).join('&')}`;
}

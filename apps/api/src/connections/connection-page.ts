import {
  CONNECTION_SORT_KEYS,
  CONNECTION_STATUSES,
  type ConnectionSort,
  type ConnectionSortKey,
} from '@keeper/contracts';
import { InvalidRequestError } from '../common/domain-errors';

/**
 * The admin's list, a page at a time (`GET /connections`): the sorts and their opaque cursors.
 * Pure; the statements are `ConnectionsRepository.page`'s.
 */

/** Every `sort=` value: each key, and each reversed with a leading `-`. */
export const CONNECTION_SORTS: readonly ConnectionSort[] = [
  ...CONNECTION_SORT_KEYS,
  ...CONNECTION_SORT_KEYS.map((key) => `-${key}` as const),
];

export interface ParsedSort {
  key: ConnectionSortKey;
  descending: boolean;
}

export function parseSort(sort: ConnectionSort): ParsedSort {
  return sort.startsWith('-')
    ? { key: sort.slice(1) as ConnectionSortKey, descending: true }
    : { key: sort as ConnectionSortKey, descending: false };
}

/**
 * Where a page starts: after the row with this sort key and id. The key is what the repository
 * selects for the sort: a UTC time with microseconds (`created`, `expiry`; `infinity` for a
 * connection without a token), the lower-cased label, or the status's rank.
 */
export interface PagePosition {
  key: string | number;
  id: string;
}

/** `2026-11-24T14:00:00.123456Z`: PostgreSQL's microseconds, which a JS Date would lose. */
const TIME_KEY = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Longer than any cursor this service writes (a label's key is at most a few hundred bytes). */
export const MAX_CURSOR_LENGTH = 1_000;

function isTimeKey(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const parts = TIME_KEY.exec(value);
  if (!parts) return false;
  const [year, month, day, hour, minute, second] = parts
    .slice(1, 7)
    .map(Number);
  const time = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // 2026-02-30 rolls over to March in JS: not a date PostgreSQL would take.
  return (
    time.getUTCFullYear() === year &&
    time.getUTCMonth() === month - 1 &&
    time.getUTCDate() === day &&
    time.getUTCHours() === hour &&
    time.getUTCMinutes() === minute &&
    time.getUTCSeconds() === second
  );
}

function isKeyOf(key: ConnectionSortKey, value: unknown): boolean {
  switch (key) {
    case 'created':
      return isTimeKey(value);
    case 'expiry':
      return value === 'infinity' || isTimeKey(value);
    case 'label':
      // PostgreSQL refuses NUL in text: a forged key must be a 400, not its error.
      return (
        typeof value === 'string' &&
        value.length <= MAX_CURSOR_LENGTH &&
        !value.includes('\u0000')
      );
    case 'status':
      return (
        Number.isInteger(value) &&
        (value as number) >= 0 &&
        (value as number) < CONNECTION_STATUSES.length
      );
  }
}

/** The cursor of the page after `position` in `sort`: base64url of `{s, k, i}`. */
export function encodeCursor(
  sort: ConnectionSort,
  position: PagePosition,
): string {
  return Buffer.from(
    JSON.stringify({ s: sort, k: position.key, i: position.id }),
  ).toString('base64url');
}

const NOT_A_CURSOR =
  'cursor must be the nextCursor of a previous page, unchanged';

/**
 * The position a cursor names; throws {@link InvalidRequestError} (400) for anything this
 * service did not write, or wrote for another sort.
 */
export function decodeCursor(
  cursor: string,
  sort: ConnectionSort,
): PagePosition {
  let decoded: unknown;
  try {
    if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor))
      throw new Error('not base64url');
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidRequestError(NOT_A_CURSOR);
  }
  if (
    typeof decoded !== 'object' ||
    decoded === null ||
    Array.isArray(decoded) ||
    Object.keys(decoded).sort().join() !== 'i,k,s'
  )
    throw new InvalidRequestError(NOT_A_CURSOR);
  const { s, k, i } = decoded as Record<string, unknown>;
  if (typeof s !== 'string' || !(CONNECTION_SORTS as string[]).includes(s))
    throw new InvalidRequestError(NOT_A_CURSOR);
  if (s !== sort)
    throw new InvalidRequestError(
      `cursor belongs to sort=${s}, not sort=${sort}: start again without a cursor`,
    );
  if (
    typeof i !== 'string' ||
    !UUID.test(i) ||
    !isKeyOf(parseSort(sort).key, k)
  )
    throw new InvalidRequestError(NOT_A_CURSOR);
  return { key: k as string | number, id: i };
}

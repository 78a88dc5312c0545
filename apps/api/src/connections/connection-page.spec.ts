import { InvalidRequestError } from '../common/domain-errors';
import {
  CONNECTION_SORTS,
  decodeCursor,
  encodeCursor,
  parseSort,
} from './connection-page';

const ID = '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';

function forged(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('the connection list page', () => {
  it('offers every sort key in both directions', () => {
    expect(CONNECTION_SORTS).toEqual([
      'created',
      'expiry',
      'label',
      'status',
      '-created',
      '-expiry',
      '-label',
      '-status',
    ]);
    expect(parseSort('-label')).toEqual({ key: 'label', descending: true });
    expect(parseSort('expiry')).toEqual({ key: 'expiry', descending: false });
  });

  it.each([
    ['created', '2026-11-20T09:30:00.123456Z'],
    ['-created', '2026-11-20T09:30:00.000001Z'],
    ['expiry', 'infinity'],
    ['-expiry', '2024-02-29T23:59:59.999999Z'],
    ['label', 'acme outdoor (na) – ünïcode %_\\'],
    ['-label', ''],
    ['status', 0],
    ['-status', 3],
  ] as const)('gives back what it encoded: %s after %j', (sort, key) => {
    const cursor = encodeCursor(sort, { key, id: ID });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, sort)).toEqual({ key, id: ID });
  });

  it('refuses the cursor of another sort, saying so', () => {
    const cursor = encodeCursor('created', {
      key: '2026-11-20T09:30:00.123456Z',
      id: ID,
    });
    expect(() => decodeCursor(cursor, '-created')).toThrow(
      new InvalidRequestError(
        'cursor belongs to sort=created, not sort=-created: start again without a cursor',
      ),
    );
  });

  it.each([
    ['not base64url', 'abc+/='],
    ['garbled', 'bm90IGpzb24'],
    ['a JSON string', forged('created')],
    ['an array', forged(['created', 'x', ID])],
    [
      'an extra field',
      forged({ s: 'created', k: '2026-11-20T09:30:00.123456Z', i: ID, x: 1 }),
    ],
    [
      'an unknown sort',
      forged({ s: 'updated', k: '2026-11-20T09:30:00.123456Z', i: ID }),
    ],
    [
      'an id that is no UUID',
      forged({
        s: 'created',
        k: '2026-11-20T09:30:00.123456Z',
        i: "1' OR '1'='1",
      }),
    ],
    [
      'a time without microseconds',
      forged({ s: 'created', k: '2026-11-20T09:30:00Z', i: ID }),
    ],
    [
      'a date that does not exist',
      forged({ s: 'created', k: '2026-02-30T09:30:00.000000Z', i: ID }),
    ],
    [
      'infinity where a token cannot lack',
      forged({ s: 'created', k: 'infinity', i: ID }),
    ],
    [
      'SQL as a time',
      forged({ s: 'expiry', k: 'now()); DROP TABLE connections; --', i: ID }),
    ],
    ['a number as a label', forged({ s: 'label', k: 5, i: ID })],
    ['NUL in a label', forged({ s: 'label', k: 'a\u0000b', i: ID })],
    ['a status rank out of range', forged({ s: 'status', k: 4, i: ID })],
    ['a fractional status rank', forged({ s: 'status', k: 1.5, i: ID })],
    ['a status name as its rank', forged({ s: 'status', k: 'active', i: ID })],
    ['far too long', 'A'.repeat(1_001)],
  ])('refuses %s as a 400', (_, cursor) => {
    const sort = (() => {
      try {
        const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString());
        return typeof decoded?.s === 'string' &&
          (CONNECTION_SORTS as string[]).includes(decoded.s)
          ? decoded.s
          : 'created';
      } catch {
        return 'created';
      }
    })();
    expect(() => decodeCursor(cursor, sort)).toThrow(
      new InvalidRequestError(
        'cursor must be the nextCursor of a previous page, unchanged',
      ),
    );
  });
});

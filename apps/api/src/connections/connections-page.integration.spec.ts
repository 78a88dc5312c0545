import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type {
  ConnectionPageDto,
  ConnectionSort,
  ConnectionStatus,
} from '@keeper/contracts';
import { CONNECTION_STATUSES } from '@keeper/contracts';
import { logIn, TEST_ADMIN_PASSWORD } from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { encodeCursor } from './connection-page';

interface Seed {
  label: string;
  region: 'na' | 'eu' | 'fe';
  status: ConnectionStatus;
  /** Microseconds after 2026-01-01T00:00:00Z; several rows share each (ties). */
  createdMicros: number;
  /** Days from now; null: no token. Several rows share each (ties). */
  expiresInDays: number | null;
  profiles?: { accountId: string; profileId: string; accountName: string }[];
}

// Labels whose order does not depend on the database's collation: one lower-case word each
// (ties in lower(label) included), or a first word no other label starts with.
const WORDS = ['alpha', 'Alpha', 'ALPHA', 'bravo', 'charlie', 'Delta', 'echo'];
const SEEDS: Seed[] = [
  ...Array.from(
    { length: 30 },
    (_, index): Seed => ({
      label: WORDS[index % WORDS.length],
      region: (['na', 'eu', 'fe'] as const)[index % 3],
      status: CONNECTION_STATUSES[index % 4],
      createdMicros: index % 3,
      expiresInDays: index % 5 === 0 ? null : (index % 4) + 1,
    }),
  ),
  {
    label: 'Kilo 100% natural',
    region: 'na',
    status: 'active',
    createdMicros: 1,
    expiresInDays: 2,
  },
  {
    label: 'Mike 100 percent natural',
    region: 'eu',
    status: 'active',
    createdMicros: 1,
    expiresInDays: 2,
  },
  {
    label: 'November snake_case',
    region: 'fe',
    status: 'degraded',
    createdMicros: 2,
    expiresInDays: null,
  },
  {
    label: 'Oscar snakeXcase',
    region: 'fe',
    status: 'degraded',
    createdMicros: 2,
    expiresInDays: 3,
  },
  {
    label: 'Papa back\\slash',
    region: 'na',
    status: 'needs_reauth',
    createdMicros: 0,
    expiresInDays: null,
  },
  {
    label: 'Quebec',
    region: 'eu',
    status: 'active',
    createdMicros: 5,
    expiresInDays: 7,
    profiles: [
      {
        accountId: 'ENTITY3QUEBEC9',
        profileId: '3421899999001',
        accountName: 'Globex Outdoor',
      },
      {
        accountId: 'A2OTHERACCOUNT',
        profileId: '777000111',
        accountName: 'Initech',
      },
    ],
  },
];

type Row = {
  id: string;
  label: string;
  status: ConnectionStatus;
  region: string;
  created: string;
  expiry: string | null;
};

const compare = (a: string | number, b: string | number): number =>
  a < b ? -1 : a > b ? 1 : 0;

/** What each sort must answer, worked out here (not by the SQL under test). */
function expectedOrder(rows: Row[], sort: ConnectionSort): string[] {
  const key = sort.replace(/^-/, '');
  const sortKey = (row: Row): string | number => {
    switch (key) {
      case 'created':
        return row.created;
      case 'expiry':
        return row.expiry ?? '~no token';
      case 'label':
        return row.label.toLowerCase();
      default:
        return CONNECTION_STATUSES.indexOf(row.status);
    }
  };
  const ordered = [...rows].sort(
    (a, b) => compare(sortKey(a), sortKey(b)) || compare(a.id, b.id),
  );
  if (sort.startsWith('-')) ordered.reverse();
  return ordered.map((row) => row.id);
}

describe('GET /connections, a page at a time', () => {
  let database: TestDatabase;
  let sut: NestFastifyApplication;
  let cookie: string;
  let rows: Row[];

  beforeAll(async () => {
    database = await createTestDatabase();
    sut = await startTestApp(database, { ADMIN_PASSWORD: TEST_ADMIN_PASSWORD });
    cookie = await logIn(sut);
    for (const seed of SEEDS) {
      const profiles = seed.profiles ?? [
        {
          accountId: `ACCT${seed.label.replace(/\W/g, '').toUpperCase()}`,
          profileId: '1000',
          accountName: 'Plain Account',
        },
      ];
      await database.query(
        `INSERT INTO connections (label, region, status, created_at, access_token_expires_at, profiles, amazon_account_ids, profiles_read_at)
         VALUES ($1, $2, $3, timestamptz '2026-01-01T00:00:00Z' + make_interval(secs => $4::float8 / 1000000),
                 CASE WHEN $5::int IS NULL THEN NULL ELSE date_trunc('day', now()) + make_interval(days => $5::int) END,
                 $6::jsonb, $7::text[], now())`,
        [
          seed.label,
          seed.region,
          seed.status,
          seed.createdMicros,
          seed.expiresInDays,
          JSON.stringify(
            profiles.map((profile) => ({
              ...profile,
              countryCode: 'US',
              currencyCode: 'USD',
              timezone: 'America/Los_Angeles',
              marketplaceStringId: 'ATVPDKIKX0DER',
              accountType: 'seller',
            })),
          ),
          profiles.map((profile) => profile.accountId),
        ],
      );
    }
    rows = await database.query<Row>(
      `SELECT id, label, status, region,
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS created,
              to_char(access_token_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS expiry
         FROM connections`,
    );
  });

  afterAll(async () => {
    await sut?.close();
    await database?.drop();
  });

  const get = (query = '') =>
    sut.inject({
      method: 'GET',
      url: `/api/v1/connections${query}`,
      headers: { cookie },
    });

  async function page(query: string): Promise<ConnectionPageDto> {
    const response = await get(query);
    expect(response.statusCode).toBe(200);
    return response.json();
  }

  /** Every page of `query`, `limit` rows each: the ids in the order they came. */
  async function walk(query: string, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages += 1) {
      const answer: ConnectionPageDto = await page(
        `?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(answer.items.length).toBeLessThanOrEqual(limit);
      ids.push(...answer.items.map((item) => item.id));
      cursor = answer.nextCursor;
      if (!cursor) return ids;
      expect(answer.items).toHaveLength(limit);
    }
    throw new Error('more than 100 pages');
  }

  it('answers the first page oldest first, with the counts and no token', async () => {
    const answer = await page('');

    expect(Object.keys(answer).sort()).toEqual([
      'counts',
      'items',
      'nextCursor',
    ]);
    expect(answer.items.map((item) => item.id)).toEqual(
      expectedOrder(rows, 'created'),
    );
    expect(answer.nextCursor).toBeNull();
    expect(answer.items[0]).toHaveProperty('profiles');
    expect(JSON.stringify(answer)).not.toMatch(/Atz[ar]\||ciphertext/);
  });

  it.each([
    'created',
    '-created',
    'expiry',
    '-expiry',
    'label',
    '-label',
    'status',
    '-status',
  ] as const)(
    'walks sort=%s page by page: every row once, in order, ties by id',
    async (sort) => {
      const expected = expectedOrder(rows, sort);
      expect(await walk(`sort=${sort}`, 4)).toEqual(expected);
      expect(await walk(`sort=${sort}`, 1)).toEqual(expected);
    },
  );

  it('puts connections without a token last by expiry (first reversed)', async () => {
    const first = await page('?sort=expiry&limit=200');
    const last = first.items.slice(-3);
    expect(last.every((item) => item.accessTokenExpiresAt === null)).toBe(true);
    expect(first.items[0].accessTokenExpiresAt).not.toBeNull();
    const reversed = await page('?sort=-expiry&limit=1');
    expect(reversed.items[0].accessTokenExpiresAt).toBeNull();
  });

  it('filters by status and region, any of repeated values, while paging', async () => {
    const wanted = rows.filter(
      (row) =>
        ['needs_reauth', 'disconnected'].includes(row.status) &&
        ['eu', 'fe'].includes(row.region),
    );
    const ids = await walk(
      'status=needs_reauth&status=disconnected&region=eu&region=fe&sort=-label',
      2,
    );
    expect(ids).toEqual(expectedOrder(wanted, '-label'));
    expect(wanted.length).toBeGreaterThan(3);

    const degraded = await page('?status=degraded&limit=200');
    expect(degraded.items.map((item) => item.status)).toEqual(
      Array(rows.filter((row) => row.status === 'degraded').length).fill(
        'degraded',
      ),
    );
    const eu = await page('?region=eu&limit=200');
    expect(eu.items).toHaveLength(
      rows.filter((row) => row.region === 'eu').length,
    );
  });

  it('counts by status over every connection, whatever the filters', async () => {
    const expected = {
      ...Object.fromEntries(
        CONNECTION_STATUSES.map((status) => [
          status,
          rows.filter((row) => row.status === status).length,
        ]),
      ),
      total: rows.length,
    };
    expect((await page('')).counts).toEqual(expected);
    expect(
      (await page('?status=active&region=fe&q=zzz-nothing&limit=1')).counts,
    ).toEqual(expected);
  });

  it.each([
    ['a label, case-insensitively', 'qUeBeC', ['Quebec']],
    ['an Amazon account id', 'entity3quebec', ['Quebec']],
    ['a second profile’s account id', 'A2OTHER', ['Quebec']],
    ['a profile id', '3421899999', ['Quebec']],
    ['a profile’s account name', 'globex outdoor', ['Quebec']],
    ['a literal %', '100%', ['Kilo 100% natural']],
    ['a literal _', 'snake_case', ['November snake_case']],
    ['a literal \\', 'back\\slash', ['Papa back\\slash']],
    ['a lone %', '%', ['Kilo 100% natural']],
    [
      'text around spaces, trimmed',
      '  natural  ',
      ['Kilo 100% natural', 'Mike 100 percent natural'],
    ],
    [
      'nothing across the end of one field and the start of the next',
      'quebecentity',
      [],
    ],
    ['nothing in the fields it does not search (accountType)', 'seller', []],
    ['nothing in the JSON keys', 'accountName', []],
    ['SQL', "' OR '1'='1' --", []],
    [
      'SQL that would close the ILIKE',
      "%' OR 1=1; DROP TABLE connections; --",
      [],
    ],
  ])('searches %s', async (_, q, labels) => {
    const answer = await page(
      `?q=${encodeURIComponent(q)}&sort=label&limit=200`,
    );
    expect(answer.items.map((item) => item.label)).toEqual(labels);
  });

  it('finds a connection by its new label and profiles once they change', async () => {
    const [row] = await database.query<{ id: string }>(
      "SELECT id FROM connections WHERE label = 'echo' LIMIT 1",
    );
    const renamed = await sut.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${row.id}`,
      headers: { cookie },
      payload: { label: 'Echo Ünïcode Şirket' },
    });
    expect(renamed.statusCode).toBe(200);
    expect(
      (await page(`?q=${encodeURIComponent('ünïCODE şir')}`)).items.map(
        (item) => item.id,
      ),
    ).toEqual([row.id]);

    await database.query(
      `UPDATE connections SET profiles = profiles || '[{"accountId":"ENTITYLATE42","profileId":"99887766","accountName":"Late Arrival"}]'::jsonb WHERE id = $1`,
      [row.id],
    );
    for (const q of ['entitylate42', '99887766', 'late arrival'])
      expect(
        (await page(`?q=${encodeURIComponent(q)}`)).items.map(
          (item) => item.id,
        ),
      ).toEqual([row.id]);
    await database.query(
      "UPDATE connections SET label = 'echo', profiles = profiles - 1 WHERE id = $1",
      [row.id],
    );
  });

  it('pages through a search', async () => {
    const wanted = rows.filter((row) => row.label.toLowerCase() === 'alpha');
    expect(await walk('q=ALPH&sort=-created', 2)).toEqual(
      expectedOrder(wanted, '-created'),
    );
  });

  it.each(
    [
      ['limit=0', 'limit must be a whole number from 1 to 200'],
      ['limit=201', 'limit must be a whole number from 1 to 200'],
      ['limit=abc', 'limit must be a whole number from 1 to 200'],
      ['limit=1.5', 'limit must be a whole number from 1 to 200'],
      ['limit=1&limit=2', 'limit must be a whole number from 1 to 200'],
      [
        'sort=updated',
        'sort must be one of created, expiry, label, status, -created, -expiry, -label, -status',
      ],
      ['sort=label&sort=status', 'sort must be one of'],
      [
        'status=paused',
        'status must be one of active, degraded, needs_reauth, disconnected',
      ],
      ['status=active&status=ACTIVE', 'status must be one of'],
      ['status=', 'status must be one of'],
      ['region=us', 'region must be one of na, eu, fe'],
      [`q=${'x'.repeat(201)}`, 'q must be 1 to 200 characters (trimmed)'],
      ['q=%20%20%20', 'q must be 1 to 200 characters (trimmed)'],
      ['q=', 'q must be 1 to 200 characters (trimmed)'],
      ['q=a&q=b', 'q must be given once, as text'],
      ['q=a%00b', 'q must be plain text, without control characters'],
      [
        'cursor=bm90IGpzb24',
        'cursor must be the nextCursor of a previous page, unchanged',
      ],
      [
        'cursor=abc.def',
        'cursor must be the nextCursor of a previous page, unchanged',
      ],
      [
        `cursor=${'A'.repeat(1001)}`,
        'cursor must be the nextCursor of a previous page, unchanged',
      ],
      ['cursor=a&cursor=b', 'cursor must be given once'],
      ['offset=50', 'property offset should not exist'],
      ['status[]=active', 'property status[] should not exist'],
      [
        Array(21).fill('status=active').join('&'),
        'status may be given at most 20 times',
      ],
      [
        Array(500).fill('region=na').join('&'),
        'region may be given at most 20 times',
      ],
    ].map(([query, message]) => [
      query.length > 60 ? `${query.slice(0, 57)}…` : query,
      query,
      message,
    ]),
  )('answers 400 to %s, naming the parameter', async (_, query, message) => {
    const response = await get(`?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ statusCode: 400 });
    expect(response.json().message).toContain(message);
  });

  it('takes a duplicated filter as one, and __proto__ as nothing', async () => {
    const once = await page('?status=active&limit=200');
    const twice = await page('?status=active&status=active&limit=200');
    expect(twice.items).toEqual(once.items);
    // Fastify's query parser drops it before validation: nothing to pollute.
    const proto = await page('?status=active&__proto__=x&limit=200');
    expect(proto.items).toEqual(once.items);
  });

  it('refuses a forged cursor and the cursor of another sort', async () => {
    const { nextCursor } = await page('?sort=label&limit=2');
    expect(nextCursor).toEqual(expect.any(String));

    const otherSort = await get(`?sort=-label&cursor=${nextCursor}`);
    expect(otherSort.statusCode).toBe(400);
    expect(otherSort.json().message).toBe(
      'cursor belongs to sort=label, not sort=-label: start again without a cursor',
    );
    const defaultSort = await get(`?cursor=${nextCursor}`);
    expect(defaultSort.statusCode).toBe(400);

    const tampered = await get(
      `?sort=label&cursor=${(nextCursor as string).slice(0, -3)}xyz`,
    );
    expect(tampered.statusCode).toBe(400);
    expect(tampered.json().message).toBe(
      'cursor must be the nextCursor of a previous page, unchanged',
    );

    // Well-formed but forged: a position that no row holds still pages (it is only a place in
    // the order), and nothing in it reaches the SQL but as a typed parameter.
    const forged = encodeCursor('label', {
      key: "zzz') OR 1=1 --",
      id: '00000000-0000-4000-8000-000000000000',
    });
    expect((await page(`?sort=label&cursor=${forged}`)).items).toEqual([]);
    const injected = Buffer.from(
      JSON.stringify({
        s: 'created',
        k: "2026-01-01'::timestamptz); DROP TABLE connections; --",
        i: '00000000-0000-4000-8000-000000000000',
      }),
    ).toString('base64url');
    expect((await get(`?cursor=${injected}`)).statusCode).toBe(400);
    expect((await page('?limit=200')).items).toHaveLength(rows.length);
  });

  it('is for the admin only', async () => {
    const response = await sut.inject({
      method: 'GET',
      url: '/api/v1/connections',
    });
    expect(response.statusCode).toBe(401);
  });
});

import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import { execFileSync } from 'node:child_process';
import {
  callback,
  connectAccount,
  consent,
  CookieJar,
  logIn,
  sandboxEnvironment,
} from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { RefreshScheduler } from '../refresh/refresh.scheduler';

const FERNET_KEY = Fernet.generateKey();

function pythonHasCryptography(): boolean {
  try {
    execFileSync('python3', ['-c', 'import cryptography'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('Amazon connect flow (against the LWA sandbox)', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let session: string;

  const tokenRequests = () =>
    sandbox.requests().filter((request) => request.endpoint === 'token').length;

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    sut = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      FERNET_KEYS: FERNET_KEY,
    });
    session = await logIn(sut);
  });

  afterAll(async () => {
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  beforeEach(() => sandbox.clearRequests());

  // PKCE, state (forged, foreign, expired, replayed), one exchange per code, redirect URIs, mix-up
  // and what the browser sees: test/security/oauth-bcp.integration.spec.ts (RFC 9700, one test each).

  it('walks the whole flow: stored connection with profiles, tokens encrypted at rest, audited', async () => {
    const leg = await consent(sut, session, { region: 'na' });
    const { response, target } = await callback(sut, leg);

    expect(response.statusCode).toBe(303);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(`${target.origin}${target.pathname}`).toBe(
      'http://localhost:4200/connections',
    );
    expect(target.searchParams.get('connect')).toBe('connected');
    expect(target.search).not.toContain(
      leg.callbackUrl.searchParams.get('code') as string,
    );
    expect(tokenRequests()).toBe(1);

    const connectionId = target.searchParams.get('connectionId') as string;
    const connection = (
      await sut.inject({
        method: 'GET',
        url: `/api/v1/connections/${connectionId}`,
        headers: { cookie: session },
      })
    ).json();
    expect(connection).toMatchObject({
      id: connectionId,
      region: 'na',
      status: 'active',
      failureCount: 0,
      lastError: null,
      profiles: expect.arrayContaining([
        expect.objectContaining({
          profileId: expect.any(String),
          countryCode: expect.any(String),
        }),
      ]),
    });
    expect(
      new Date(connection.accessTokenExpiresAt).getTime() - Date.now(),
    ).toBeGreaterThan(3500 * 1000);

    const [row] = await database.query<{
      access_token_ciphertext: string;
      refresh_token_ciphertext: string;
      key_id: string;
    }>(
      'SELECT access_token_ciphertext, refresh_token_ciphertext, key_id FROM connections WHERE id = $1',
      [connectionId],
    );
    expect(row.access_token_ciphertext).toMatch(/^gAAAAA/);
    expect(row.refresh_token_ciphertext).toMatch(/^gAAAAA/);
    const accessToken = new Fernet(FERNET_KEY)
      .decrypt(row.access_token_ciphertext)
      .toString();
    expect(accessToken).toMatch(/^Atza\|/);

    const audit = (
      await sut.inject({
        method: 'GET',
        url: `/api/v1/audit-events?connectionId=${connectionId}`,
        headers: { cookie: session },
      })
    ).json();
    expect(audit.items).toEqual([
      expect.objectContaining({
        type: 'connected',
        actor: 'admin',
        details: expect.objectContaining({ region: 'na' }),
      }),
    ]);
  });

  (pythonHasCryptography() || process.env.CI === 'true' ? it : it.skip)(
    "stores tokens that Python's cryptography decrypts with the configured key",
    async () => {
      const connectionId = await connectAccount(sut, session, {
        region: 'fe',
        account: 'Python check',
      });
      const [row] = await database.query<{ refresh_token_ciphertext: string }>(
        'SELECT refresh_token_ciphertext FROM connections WHERE id = $1',
        [connectionId],
      );
      const plaintext = execFileSync(
        'python3',
        [
          '-c',
          'import sys; from cryptography.fernet import Fernet; print(Fernet(sys.argv[1].encode()).decrypt(sys.argv[2].encode()).decode())',
          FERNET_KEY,
          row.refresh_token_ciphertext,
        ],
        { encoding: 'utf8' },
      ).trim();

      expect(plaintext).toMatch(/^Atzr\|/);
    },
  );

  it('updates the same advertiser account on reconnect instead of adding a twin', async () => {
    const first = await connectAccount(sut, session, {
      region: 'eu',
      account: 'Twin Test GmbH',
    });
    const leg = await consent(sut, session, {
      region: 'eu',
      account: 'Twin Test GmbH',
    });
    const { target } = await callback(sut, leg);

    expect(target.searchParams.get('connect')).toBe('reconnected');
    expect(target.searchParams.get('connectionId')).toBe(first);
    const audit = (
      await sut.inject({
        method: 'GET',
        url: `/api/v1/audit-events?connectionId=${first}`,
        headers: { cookie: session },
      })
    ).json();
    expect(audit.items.map((event: { type: string }) => event.type)).toEqual([
      'reconnected',
      'connected',
    ]);
  });

  it('completes 120 concurrent flows without an error', async () => {
    const flows = await Promise.all(
      Array.from({ length: 120 }, async (_, index) => {
        const leg = await consent(sut, session, {
          region: (['na', 'eu', 'fe'] as const)[index % 3],
          account: `Concurrent ${index}`,
        });
        return (await callback(sut, leg)).target.searchParams.get('connect');
      }),
    );

    expect(flows.filter((outcome) => outcome !== 'connected')).toEqual([]);
    expect(tokenRequests()).toBe(120);
  });

  it('leads back to the console when the admin denies access', async () => {
    const leg = await consent(sut, session, { decision: 'deny' });
    const { response, target } = await callback(sut, leg);

    expect(response.statusCode).toBe(303);
    expect(target.searchParams.get('connect')).toBe('access_denied');
    expect(tokenRequests()).toBe(0);
  });

  it('leads back with a readable reason when Amazon refuses the code, never a 5xx', async () => {
    sandbox.queueFault({ endpoint: 'token', kind: 'invalid_grant' });
    const leg = await consent(sut, session);
    const { response, target } = await callback(sut, leg);

    expect(response.statusCode).toBe(303);
    expect(target.searchParams.get('connect')).toBe('amazon_error');
    expect(target.searchParams.get('reason')).toMatch(
      /Amazon did not issue tokens/,
    );
  });

  it('leads back with a readable reason and no token request when the code is missing or blank', async () => {
    for (const code of [null, '', ' ', '%20%09']) {
      const leg = await consent(sut, session);
      const search = new URLSearchParams(leg.callbackUrl.search);
      search.delete('code');
      const query =
        code === null ? search.toString() : `${search.toString()}&code=${code}`;
      const requestsBefore = tokenRequests();
      const response = await sut.inject({
        method: 'GET',
        url: `${leg.callbackUrl.pathname}?${query}`,
        headers: { cookie: leg.bindingCookie },
      });
      const target = new URL(String(response.headers.location));

      expect(response.statusCode).toBe(303);
      expect(target.searchParams.get('connect')).toBe('amazon_error');
      expect(target.searchParams.get('reason')).toBe(
        'Amazon sent no authorization code.',
      );
      expect(tokenRequests()).toBe(requestsBefore);
    }
  });

  it('saves the connection without profiles when the Ads API fails, and reads them at the next refresh', async () => {
    sandbox.queueFault({ endpoint: 'profiles', kind: '503', count: 5 });
    const connectionId = await connectAccount(sut, session, {
      account: 'Profiles Later Inc',
    });
    sandbox.clearFaults();

    const [row] = await database.query<{
      profiles_stale: boolean;
      profiles: unknown[];
    }>('SELECT profiles_stale, profiles FROM connections WHERE id = $1', [
      connectionId,
    ]);
    expect(row).toEqual({ profiles_stale: true, profiles: [] });

    const refreshed = await sut.inject({
      method: 'POST',
      url: `/api/v1/connections/${connectionId}/refresh`,
      headers: { cookie: session },
    });
    expect(refreshed.json().connection.profiles).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          profileId: expect.any(String),
          accountName: 'Profiles Later Inc',
        }),
      ]),
    );
    const [after] = await database.query<{ profiles_stale: boolean }>(
      'SELECT profiles_stale FROM connections WHERE id = $1',
      [connectionId],
    );
    expect(after.profiles_stale).toBe(false);
  });

  describe('twins: two live connections of one advertiser account', () => {
    type Row = {
      id: string;
      status: string;
      access_token_ciphertext: string | null;
      refresh_token_ciphertext: string | null;
      key_id: string | null;
      lease_owner: string | null;
      disconnected_at: Date | null;
      amazon_account_ids: string[];
    };
    const rowsOf = (ids: string[]) =>
      database.query<Row>(
        'SELECT id, status, access_token_ciphertext, refresh_token_ciphertext, key_id, lease_owner, disconnected_at, amazon_account_ids FROM connections WHERE id = ANY($1::uuid[]) ORDER BY created_at',
        [ids],
      );
    const decrypt = (ciphertext: string | null) =>
      new Fernet(FERNET_KEY).decrypt(ciphertext as string).toString();
    const mergedEvents = (ids: string[]) =>
      database.query<{
        connection_id: string;
        actor: string;
        details: Record<string, unknown>;
      }>(
        "SELECT connection_id, actor, details FROM audit_events WHERE type = 'merged' AND (connection_id = ANY($1::uuid[]) OR details->>'closedId' = ANY($1::text[]))",
        [ids],
      );
    /** A consent whose profiles call fails (both tries): saved with no account ids to match on. */
    const connectWithoutProfiles = async (
      account: string,
      region: 'na' | 'eu' | 'fe' = 'eu',
    ) => {
      sandbox.queueFault({ endpoint: 'profiles', kind: '503', count: 2 });
      try {
        return await connectAccount(sut, session, { region, account });
      } finally {
        sandbox.clearFaults();
      }
    };
    const refreshNow = (id: string) =>
      sut.inject({
        method: 'POST',
        url: `/api/v1/connections/${id}/refresh`,
        headers: { cookie: session },
      });

    it('merges a reconnect saved without profiles into the older connection at its next refresh, with the newest tokens', async () => {
      const older = await connectAccount(sut, session, {
        region: 'eu',
        account: 'Twin Later SARL',
      });
      const twin = await connectWithoutProfiles('Twin Later SARL');
      expect(twin).not.toBe(older);
      const [before, twinBefore] = await rowsOf([older, twin]);
      expect([before.status, twinBefore.status]).toEqual(['active', 'active']);
      expect(twinBefore.amazon_account_ids).toEqual([]);

      expect((await refreshNow(twin)).statusCode).toBe(200);

      const [survivor, closed] = await rowsOf([older, twin]);
      expect(survivor).toMatchObject({
        id: older,
        status: 'active',
        amazon_account_ids: before.amazon_account_ids,
      });
      expect(closed).toEqual({
        ...closed,
        status: 'disconnected',
        access_token_ciphertext: null,
        refresh_token_ciphertext: null,
        key_id: null,
        lease_owner: null,
        disconnected_at: expect.any(Date),
      });
      // The newest tokens: the twin's consent (its refresh token) and the refresh just made.
      expect(decrypt(survivor.refresh_token_ciphertext)).toBe(
        decrypt(twinBefore.refresh_token_ciphertext),
      );
      expect(decrypt(survivor.access_token_ciphertext)).not.toBe(
        decrypt(before.access_token_ciphertext),
      );
      expect(decrypt(survivor.access_token_ciphertext)).not.toBe(
        decrypt(twinBefore.access_token_ciphertext),
      );
      const live = await database.query(
        "SELECT id FROM connections WHERE region = 'eu' AND status <> 'disconnected' AND amazon_account_ids && $1::text[]",
        [before.amazon_account_ids],
      );
      expect(live).toEqual([{ id: older }]);

      const events = await mergedEvents([older, twin]);
      expect(events).toEqual([
        {
          connection_id: older,
          actor: 'system',
          details: {
            survivorId: older,
            closedId: twin,
            region: 'eu',
            tokensFrom: twin,
          },
        },
      ]);
      expect(JSON.stringify(events)).not.toMatch(/Atz[ar]\|/);
      // Jobs keep using the older id: it answers with the merged tokens.
      const connection = (
        await sut.inject({
          method: 'GET',
          url: `/api/v1/connections/${older}`,
          headers: { cookie: session },
        })
      ).json();
      expect(connection).toMatchObject({ id: older, status: 'active' });
    });

    it('merges the twin at the next sweep, without waiting for its token to be due', async () => {
      const older = await connectAccount(sut, session, {
        region: 'na',
        account: 'Next Sweep GmbH',
      });
      await database.query(
        "UPDATE connections SET status = 'needs_reauth' WHERE id = $1",
        [older],
      );
      const twin = await connectWithoutProfiles('Next Sweep GmbH', 'na');
      sandbox.clearRequests();

      await sut.get(RefreshScheduler).sweep();

      expect((await rowsOf([older, twin])).map((row) => row.status)).toEqual([
        'active',
        'disconnected',
      ]);
      // Jobs using the older id get a token again; no token request was needed for it.
      expect(sandbox.requests({ endpoint: 'token' })).toHaveLength(0);
      expect(await mergedEvents([older, twin])).toHaveLength(1);
    });

    it('revives a connection that needs re-auth from its twin', async () => {
      const older = await connectAccount(sut, session, {
        region: 'fe',
        account: 'Revived KK',
      });
      await database.query(
        "UPDATE connections SET status = 'needs_reauth', last_error = 'invalid_grant' WHERE id = $1",
        [older],
      );
      const twin = await connectWithoutProfiles('Revived KK', 'fe');
      // Another replica's refresh of the old grant is in flight: it must store nothing over the
      // merged tokens, so the merge drops its lease (its write is guarded by the lease).
      await database.query(
        "UPDATE connections SET lease_owner = 'another-replica', lease_expires_at = now() + interval '90 seconds' WHERE id = $1",
        [older],
      );

      expect((await refreshNow(twin)).statusCode).toBe(200);
      const [lease] = await database.query<{ lease_owner: string | null }>(
        'SELECT lease_owner FROM connections WHERE id = $1',
        [older],
      );
      expect(lease.lease_owner).toBeNull();

      const [survivor, closed] = await rowsOf([older, twin]);
      expect([survivor.status, closed.status]).toEqual([
        'active',
        'disconnected',
      ]);
      const [{ last_error }] = await database.query<{
        last_error: string | null;
      }>('SELECT last_error FROM connections WHERE id = $1', [older]);
      expect(last_error).toBeNull();
    });

    it('closes twins that share account ids (left by an earlier version) when a later consent reads the profiles', async () => {
      const older = await connectAccount(sut, session, {
        region: 'na',
        account: 'Third Consent LLC',
      });
      const twin = await connectWithoutProfiles('Third Consent LLC', 'na');
      await database.query(
        'UPDATE connections SET amazon_account_ids = (SELECT amazon_account_ids FROM connections WHERE id = $1), profiles_stale = false WHERE id = $2',
        [older, twin],
      );
      // A refresh of the old tokens in flight elsewhere: the consent's tokens win.
      await database.query(
        "UPDATE connections SET lease_owner = 'another-replica', lease_expires_at = now() + interval '90 seconds' WHERE id = $1",
        [older],
      );

      const again = await callback(
        sut,
        await consent(sut, session, {
          region: 'na',
          account: 'Third Consent LLC',
        }),
      );

      expect(again.target.searchParams.get('connect')).toBe('reconnected');
      expect(again.target.searchParams.get('connectionId')).toBe(older);
      expect((await rowsOf([older, twin])).map((row) => row.status)).toEqual([
        'active',
        'disconnected',
      ]);
      expect(await mergedEvents([older, twin])).toHaveLength(1);
      const [lease] = await database.query<{ lease_owner: string | null }>(
        'SELECT lease_owner FROM connections WHERE id = $1',
        [older],
      );
      expect(lease.lease_owner).toBeNull();
    });

    it('merges exactly once when both twins are refreshed at the same moment (five times over)', async () => {
      for (let round = 0; round < 5; round += 1) {
        const account = `Crosswise ${round} BV`;
        const first = await connectWithoutProfiles(account);
        const second = await connectWithoutProfiles(account);

        const answers = await Promise.all([
          refreshNow(first),
          refreshNow(second),
        ]);

        expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200]);
        const rows = await rowsOf([first, second]);
        expect(rows.map((row) => row.status)).toEqual([
          'active',
          'disconnected',
        ]);
        expect(rows[0].amazon_account_ids).not.toEqual([]);
        expect(await mergedEvents([first, second])).toHaveLength(1);
      }
    });

    it('makes one connection of two consents of one account arriving at the same moment (five times over)', async () => {
      for (let round = 0; round < 5; round += 1) {
        const account = `Simultaneous ${round} SpA`;
        const legs = [
          await consent(sut, session, { region: 'eu', account }),
          await consent(sut, session, { region: 'eu', account }),
        ];

        const results = await Promise.all(
          legs.map((leg) => callback(sut, leg)),
        );

        expect(
          results
            .map(({ target }) => target.searchParams.get('connect'))
            .sort(),
        ).toEqual(['connected', 'reconnected']);
        expect(
          new Set(
            results.map(({ target }) =>
              target.searchParams.get('connectionId'),
            ),
          ).size,
        ).toBe(1);
      }
    });

    it('leaves the same account in another region alone', async () => {
      const europe = await connectAccount(sut, session, {
        region: 'eu',
        account: 'Two Regions AG',
      });
      const farEast = await connectWithoutProfiles('Two Regions AG', 'fe');

      expect((await refreshNow(farEast)).statusCode).toBe(200);

      expect(
        (await rowsOf([europe, farEast])).map((row) => row.status),
      ).toEqual(['active', 'active']);
    });
  });

  describe('consents in several tabs of one browser', () => {
    // A browser of its own per test: the binding belongs to the admin session (one per browser).
    let browser: string;
    beforeEach(async () => {
      browser = await logIn(sut);
    });

    it('completes two interleaved consents (NA, then EU in another tab), in either order', async () => {
      for (const order of [
        [0, 1],
        [1, 0],
      ]) {
        const jar = new CookieJar();
        const legs = [
          await consent(sut, browser, {
            region: 'na',
            account: `Tab NA ${order}`,
            jar,
          }),
          await consent(sut, browser, {
            region: 'eu',
            account: `Tab EU ${order}`,
            jar,
          }),
        ];
        const outcomes = [];
        for (const index of order) {
          const { target } = await callback(sut, legs[index], jar);
          outcomes.push([
            target.searchParams.get('connect'),
            target.searchParams.get('reason'),
          ]);
        }

        expect(outcomes).toEqual([
          ['connected', null],
          ['connected', null],
        ]);
        // Spent with the last consent that needed it.
        expect(jar.get('atk_oauth')).toBeUndefined();
      }
      expect(tokenRequests()).toBe(4);
    });

    it('completes three interleaved consents, and keeps the binding until the last one is back', async () => {
      const jar = new CookieJar();
      const legs = [];
      for (const region of ['na', 'eu', 'fe'] as const)
        legs.push(
          await consent(sut, browser, {
            region,
            account: `Three tabs ${region}`,
            jar,
          }),
        );
      const bindings = [];
      const outcomes = [];
      for (const leg of [legs[2], legs[0], legs[1]]) {
        bindings.push(jar.get('atk_oauth'));
        outcomes.push(
          (await callback(sut, leg, jar)).target.searchParams.get('connect'),
        );
      }

      expect(outcomes).toEqual(['connected', 'connected', 'connected']);
      expect(new Set(bindings).size).toBe(1);
      expect(jar.get('atk_oauth')).toBeUndefined();
      expect(tokenRequests()).toBe(3);
    });

    it('lets a denied or failed consent in one tab leave the other tab to finish', async () => {
      const jar = new CookieJar();
      const denied = await consent(sut, browser, {
        region: 'na',
        decision: 'deny',
        jar,
      });
      const refused = await consent(sut, browser, { region: 'fe', jar });
      const allowed = await consent(sut, browser, {
        region: 'eu',
        account: 'Other Tab GmbH',
        jar,
      });

      expect(
        (await callback(sut, denied, jar)).target.searchParams.get('connect'),
      ).toBe('access_denied');
      sandbox.queueFault({ endpoint: 'token', kind: 'invalid_grant' });
      expect(
        (await callback(sut, refused, jar)).target.searchParams.get('connect'),
      ).toBe('amazon_error');
      expect(
        (await callback(sut, allowed, jar)).target.searchParams.get('connect'),
      ).toBe('connected');
    });

    it('is not disturbed by bogus callbacks (a cross-site link) between start and the real callback', async () => {
      const jar = new CookieJar();
      const leg = await consent(sut, browser, {
        account: 'Bogus Link Ltd',
        jar,
      });
      const bogus = [
        '',
        '?state=short',
        `?code=x&state=${'A'.repeat(43)}`,
        '?error=access_denied',
        `?code=x&state=${'B'.repeat(43)}&state=x`,
      ];
      for (const search of bogus) {
        const response = await sut.inject({
          method: 'GET',
          url: `/api/v1/auth/amazon/callback${search}`,
          headers: { cookie: jar.header() },
        });
        jar.take(response);
        expect(
          new URL(String(response.headers.location)).searchParams.get(
            'connect',
          ),
        ).toBe('state_invalid');
        expect(jar.get('atk_oauth')).toBeDefined();
      }
      expect(tokenRequests()).toBe(0);

      expect(
        (await callback(sut, leg, jar)).target.searchParams.get('connect'),
      ).toBe('connected');
      expect(tokenRequests()).toBe(1);
    });
  });

  // Secrets in logs, rows, error bodies, events and pages: test/security/canaries.integration.spec.ts.
});

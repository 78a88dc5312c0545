import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AdsProfileDto, DspAdvertiserDto } from '@keeper/contracts';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import {
  createServer,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { logIn, sandboxEnvironment } from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { LwaServerError } from '../amazon/lwa.errors';
import { ConnectionEntity } from '../connections/connection.entity';
import { DatabaseService } from '../database/database.service';
import { ProfileReader } from './profile-reader';
import { RefreshScheduler } from './refresh.scheduler';

const AGENCY = 'ENTITY1SANDBOXNORTHWIND';
const SELLER = 'A1SANDBOXACME01';
const HOUR_MS = 60 * 60 * 1000;

/** One `GET /dsp/advertisers` as the fake Ads API saw it. */
interface DspCall {
  scope: string | undefined;
  authorized: boolean;
  clientId: string | undefined;
}

/**
 * The Ads API as these tests need it: `/v2/profiles` goes to the LWA sandbox unchanged (its
 * token, client id and fault queue apply), `/dsp/advertisers` answers what a test scripts per
 * profile id (the scope), or 500 for a profile scripted as failing.
 */
class FakeAdsApi {
  readonly dspCalls: DspCall[] = [];
  readonly advertisers = new Map<string, DspAdvertiserDto[] | 'fail'>();
  private readonly server: Server = createServer((req, res) => {
    void this.handle(req, res);
  });
  url = '';

  constructor(private readonly sandboxUrl: () => string) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server.listen(0, '127.0.0.1', resolve),
    );
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.dspCalls.length = 0;
    this.advertisers.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (path === '/dsp/advertisers') {
      const scope = req.headers['amazon-advertising-api-scope'] as
        | string
        | undefined;
      this.dspCalls.push({
        scope,
        authorized: /^Bearer \S+$/.test(req.headers.authorization ?? ''),
        clientId: req.headers['amazon-advertising-api-clientid'] as
          | string
          | undefined,
      });
      const scripted = scope ? this.advertisers.get(scope) : undefined;
      if (scripted === 'fail') {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ code: '500', details: 'Internal error' }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          totalResults: scripted?.length ?? 0,
          response: (scripted ?? []).map((advertiser) => ({
            advertiserId: advertiser.advertiserId,
            name: advertiser.name,
            currency: advertiser.currency,
            url: 'https://advertiser.example.com',
            country: advertiser.countryCode,
            timezone: advertiser.timezone,
          })),
        }),
      );
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of [
      'authorization',
      'amazon-advertising-api-clientid',
      'accept',
    ]) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await fetch(`${this.sandboxUrl()}${req.url ?? '/'}`, {
      method: req.method,
      headers,
    }).catch(() => undefined);
    if (!answer) {
      req.socket.destroy();
      return;
    }
    const retryAfter = answer.headers.get('retry-after');
    res.writeHead(answer.status, {
      'Content-Type': answer.headers.get('content-type') ?? 'application/json',
      ...(retryAfter ? { 'Retry-After': retryAfter } : {}),
    });
    res.end(await answer.text());
  }
}

const advertiser = (
  advertiserId: string,
  profileId: string,
  name = `Advertiser ${advertiserId}`,
): DspAdvertiserDto => ({
  advertiserId,
  name,
  countryCode: 'US',
  currency: 'USD',
  timezone: 'America/New_York',
  profileId,
});

const ghostProfile = (profileId: string, lostAt?: string): AdsProfileDto => ({
  profileId,
  countryCode: 'DE',
  currencyCode: 'EUR',
  timezone: 'Europe/Paris',
  marketplaceStringId: 'A1PA6795UKMFR9',
  accountId: 'A9GHOSTACCOUNT01',
  accountName: 'Gone GmbH',
  accountType: 'seller',
  ...(lostAt ? { lostAt } : {}),
});

describe('what Amazon lets a connection reach, kept current (against the LWA sandbox)', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let ads: FakeAdsApi;
  let sut: NestFastifyApplication;

  const profileRequests = () => sandbox.requests({ endpoint: 'profiles' });
  const reader = () => sut.get(ProfileReader);

  /** A connection whose token the sandbox issued for `account`; stored profiles as given. */
  async function seed(
    account: string,
    fields: Partial<ConnectionEntity> = {},
  ): Promise<ConnectionEntity> {
    const repository = sut.get(DatabaseService).repository(ConnectionEntity);
    const tokens = sandbox.issueTokens(account);
    return repository.save(
      repository.create({
        label: `Seeded ${account}`,
        region: 'na',
        status: 'active',
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        accessTokenExpiresAt: new Date(Date.now() + 3000 * 1000),
        lastRefreshedAt: new Date(),
        amazonAccountIds: [tokens.accountId],
        profiles: [],
        profilesReadAt: new Date(),
        ...fields,
      }),
    );
  }

  async function row(id: string): Promise<ConnectionEntity> {
    return sut
      .get(DatabaseService)
      .repository(ConnectionEntity)
      .findOneByOrFail({ id });
  }

  /** The profiles Amazon (the sandbox) lists for `account`, as the API stores them. */
  async function listedProfiles(account: string): Promise<AdsProfileDto[]> {
    const connection = await seed(account);
    await reader().reread(connection.id, 'seed', { notWithinMs: 0 });
    const listed = (await row(connection.id)).profiles;
    await database.query(
      "UPDATE connections SET status = 'disconnected' WHERE id = $1",
      [connection.id],
    );
    sandbox.clearRequests();
    ads.dspCalls.length = 0;
    return listed;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    ads = new FakeAdsApi(() => sandbox.url);
    await ads.start();
    sut = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      AMAZON_ADS_API_URL: ads.url,
      // Sweeps run when a test says so, not on the clock.
      REFRESH_CRON: '0 0 0 1 1 *',
      REFRESH_MAX_RETRIES: '0',
    });
  });

  afterAll(async () => {
    await sut?.close();
    await ads?.stop();
    await sandbox?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    sandbox.clearFaults();
    ads.reset();
    // Each test starts with no live connection left by another.
    await database.query(
      "UPDATE connections SET status = 'disconnected' WHERE status <> 'disconnected'",
    );
    sandbox.clearRequests();
  });

  it('keeps a profile Amazon stops listing, marked lost once, and clears the mark when it is listed again', async () => {
    const listed = await listedProfiles(SELLER);
    const connection = await seed(SELLER, {
      profiles: [...listed, ghostProfile('777')],
      amazonAccountIds: [SELLER, 'A9GHOSTACCOUNT01'],
    });

    await reader().reread(connection.id, 'lost', { notWithinMs: 0 });
    const afterFirst = await row(connection.id);
    await reader().reread(connection.id, 'lost again', { notWithinMs: 0 });
    const afterSecond = await row(connection.id);

    const lostAt = afterFirst.profiles.find(
      (profile) => profile.profileId === '777',
    )?.lostAt;
    expect(new Date(lostAt ?? 0).getTime()).toBeGreaterThan(
      Date.now() - 60_000,
    );
    expect(afterFirst.profiles).toEqual([
      ...listed,
      { ...ghostProfile('777'), lostAt },
    ]);
    // Account ids come from listed profiles only; losing one is not a reason to reconnect.
    expect(afterFirst).toMatchObject({
      amazonAccountIds: [SELLER],
      status: 'active',
    });
    expect(afterSecond.profiles).toEqual(afterFirst.profiles);
    expect(profileRequests()).toHaveLength(2);

    // Listed again: the mark goes.
    await database.query('UPDATE connections SET profiles = $2 WHERE id = $1', [
      connection.id,
      JSON.stringify([
        { ...listed[0], lostAt: '2026-01-01T00:00:00.000Z' },
        ...listed.slice(1),
      ]),
    ]);
    await reader().reread(connection.id, 'found', { notWithinMs: 0 });
    expect((await row(connection.id)).profiles).toEqual(listed);
  });

  it("lists each agency profile's DSP advertisers with its profile as scope; a failed call keeps that profile's previous ones", async () => {
    const listed = await listedProfiles(AGENCY);
    expect(listed.map((profile) => profile.accountType)).toEqual([
      'agency',
      'agency',
      'agency',
    ]);
    const [us, uk, jp] = listed.map((profile) => profile.profileId);
    const previousJp = advertiser('3000', jp, 'Kept from before');
    const connection = await seed(AGENCY, {
      profiles: listed,
      dspAdvertisers: [advertiser('1999', us, 'Dropped'), previousJp],
    });
    ads.advertisers.set(us, [advertiser('1001', us), advertiser('1002', us)]);
    ads.advertisers.set(uk, [advertiser('2001', uk)]);
    ads.advertisers.set(jp, 'fail');

    const after = await reader().reread(connection.id, 'dsp', {
      notWithinMs: 0,
    });

    expect(after?.dspAdvertisers).toEqual([
      advertiser('1001', us),
      advertiser('1002', us),
      advertiser('2001', uk),
      previousJp,
    ]);
    expect(ads.dspCalls.map((call) => call.scope)).toEqual([us, uk, jp]);
    expect(
      ads.dspCalls.every(
        (call) => call.authorized && call.clientId === sandbox.clientId,
      ),
    ).toBe(true);
    expect((await row(connection.id)).dspAdvertisers).toEqual(
      after?.dspAdvertisers,
    );
  });

  it('makes no DSP call for a connection without agency profiles', async () => {
    const connection = await seed(SELLER);

    const after = await reader().reread(connection.id, 'seller', {
      notWithinMs: 0,
    });

    expect(after?.profiles.length).toBeGreaterThan(0);
    expect(after?.dspAdvertisers).toEqual([]);
    expect(ads.dspCalls).toHaveLength(0);
  });

  describe('the daily re-read at the sweep', () => {
    it('reads only live connections whose last read is a day old (or missing), oldest first, without a token request', async () => {
      const old = await seed(SELLER, {
        profilesReadAt: new Date(Date.now() - 25 * HOUR_MS),
      });
      const never = await seed(AGENCY, { profilesReadAt: null });
      const recent = await seed(SELLER, {
        profilesReadAt: new Date(Date.now() - 23 * HOUR_MS),
      });
      const needsReauth = await seed(SELLER, {
        status: 'needs_reauth',
        profilesReadAt: new Date(Date.now() - 48 * HOUR_MS),
      });
      const expiring = await seed(SELLER, {
        profilesReadAt: new Date(Date.now() - 48 * HOUR_MS),
        accessTokenExpiresAt: new Date(Date.now() + 30_000),
        // Not due for a refresh in this sweep: refreshed a moment ago.
        lastRefreshedAt: new Date(),
      });

      await sut.get(RefreshScheduler).sweep();

      expect(profileRequests().map((request) => request.accountId)).toEqual([
        AGENCY,
        SELLER,
      ]);
      expect(sandbox.requests({ endpoint: 'token' })).toHaveLength(0);
      for (const read of [old, never])
        expect((await row(read.id)).profilesReadAt?.getTime()).toBeGreaterThan(
          Date.now() - 60_000,
        );
      for (const unread of [recent, needsReauth, expiring])
        expect((await row(unread.id)).profilesReadAt).toEqual(
          unread.profilesReadAt,
        );

      sandbox.clearRequests();
      await sut.get(RefreshScheduler).sweep();
      expect(profileRequests()).toHaveLength(0);
    });

    it('does not try a failed read again at every sweep, and reads the rows behind it', async () => {
      const failing = await seed(SELLER, {
        profilesReadAt: new Date(Date.now() - 30 * HOUR_MS),
      });
      sandbox.queueFault({ endpoint: 'profiles', kind: '500', count: 1 });

      await sut.get(RefreshScheduler).sweep();
      const behind = await seed(AGENCY, {
        profilesReadAt: new Date(Date.now() - 26 * HOUR_MS),
      });
      await sut.get(RefreshScheduler).sweep();

      expect(profileRequests().map((request) => request.status)).toEqual([
        500, 200,
      ]);
      expect((await row(failing.id)).profilesReadAt).toEqual(
        failing.profilesReadAt,
      );
      expect((await row(behind.id)).profilesReadAt?.getTime()).toBeGreaterThan(
        Date.now() - 60_000,
      );
    });
  });

  describe('reread', () => {
    it('shares one read among concurrent callers, then reads no more than once per notWithinMs', async () => {
      const connection = await seed(SELLER, {
        profilesReadAt: new Date(Date.now() - 2 * 60_000),
      });

      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          reader().reread(connection.id, 'shared', { notWithinMs: 60_000 }),
        ),
      );
      const again = await reader().reread(connection.id, 'again', {
        notWithinMs: 60_000,
      });

      expect(profileRequests()).toHaveLength(1);
      expect(new Set(answers.map((answer) => answer?.id))).toEqual(
        new Set([connection.id]),
      );
      expect(answers[0]?.profiles.length).toBeGreaterThan(0);
      expect(again?.profilesReadAt).toEqual(answers[0]?.profilesReadAt);
      expect(again?.accessToken).toBeUndefined();
    });

    it('reads when the last read is older than notWithinMs', async () => {
      const connection = await seed(SELLER, {
        profilesReadAt: new Date(Date.now() - 61_000),
      });

      await reader().reread(connection.id, 'stale', { notWithinMs: 60_000 });

      expect(profileRequests()).toHaveLength(1);
    });

    it("answers the stored row when Amazon fails (rereadOrThrow: Amazon's error), and does not ask again within notWithinMs", async () => {
      const connection = await seed(SELLER, {
        profilesReadAt: new Date(Date.now() - 10 * 60_000),
      });
      sandbox.queueFault({ endpoint: 'profiles', kind: '500', count: 2 });

      const bestEffort = await reader().reread(connection.id, 'best effort', {
        notWithinMs: 60_000,
      });
      const after = await reader().reread(connection.id, 'after failure', {
        notWithinMs: 60_000,
      });
      await expect(
        reader().rereadOrThrow(connection.id, 'fails', { notWithinMs: 0 }),
      ).rejects.toBeInstanceOf(LwaServerError);

      expect(profileRequests().map((request) => request.status)).toEqual([
        500, 500,
      ]);
      expect(bestEffort?.profilesReadAt).toEqual(connection.profilesReadAt);
      expect(after?.profilesReadAt).toEqual(connection.profilesReadAt);
    });

    it('reads nothing for a connection that needs a new consent (rereadOrThrow: 409)', async () => {
      const connection = await seed(SELLER, { status: 'needs_reauth' });

      const answer = await reader().reread(connection.id, 'reauth', {
        notWithinMs: 0,
      });

      expect(answer?.status).toBe('needs_reauth');
      await expect(
        reader().rereadOrThrow(connection.id, 'reauth', { notWithinMs: 0 }),
      ).rejects.toMatchObject({ httpStatus: 409 });
      expect(profileRequests()).toHaveLength(0);
    });

    it('answers undefined for an unknown connection', async () => {
      await expect(
        reader().reread('6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12', 'unknown', {
          notWithinMs: 0,
        }),
      ).resolves.toBeUndefined();
      expect(profileRequests()).toHaveLength(0);
    });
  });

  describe('POST /connections/:id/profiles/refresh', () => {
    const refreshProfiles = async (id: string) =>
      sut.inject({
        method: 'POST',
        url: `/api/v1/connections/${id}/profiles/refresh`,
        headers: { cookie: await logIn(sut) },
      });

    it('reads now, answers the connection and audits profiles_read with the counts', async () => {
      const listed = await listedProfiles(AGENCY);
      const connection = await seed(AGENCY, {
        profiles: [...listed, ghostProfile('888')],
      });
      ads.advertisers.set(listed[0].profileId, [
        advertiser('42', listed[0].profileId),
      ]);

      const response = await refreshProfiles(connection.id);

      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        id: connection.id,
        status: 'active',
        dspAdvertisers: [advertiser('42', listed[0].profileId)],
        profiles: [
          ...listed,
          { ...ghostProfile('888'), lostAt: expect.any(String) },
        ],
      });
      expect(
        new Date(response.json().profilesReadAt).getTime(),
      ).toBeGreaterThan(connection.profilesReadAt?.getTime() ?? 0);
      expect(response.body).not.toContain('Atz');
      expect(profileRequests()).toHaveLength(1);
      const events = await database.query<{
        type: string;
        actor: string;
        details: Record<string, number>;
      }>(
        'SELECT type, actor, details FROM audit_events WHERE connection_id = $1',
        [connection.id],
      );
      expect(events).toEqual([
        {
          type: 'profiles_read',
          actor: 'admin',
          details: { profiles: 3, lost: 1, dspAdvertisers: 1 },
        },
      ]);
    });

    it('refreshes an expired token first, then reads with the new one', async () => {
      const connection = await seed(SELLER, {
        accessTokenExpiresAt: new Date(Date.now() - 60_000),
        lastRefreshedAt: new Date(Date.now() - 2 * HOUR_MS),
      });

      const response = await refreshProfiles(connection.id);

      expect(response.statusCode).toBe(200);
      expect(sandbox.requests({ endpoint: 'token' })).toHaveLength(1);
      expect(profileRequests().map((request) => request.status)).toEqual([200]);
    });

    it('answers 404 for an unknown connection and 409 for one that needs a new consent, without calling Amazon', async () => {
      const needsReauth = await seed(SELLER, { status: 'needs_reauth' });
      const disconnected = await seed(SELLER, { status: 'disconnected' });

      const unknown = await refreshProfiles(
        '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
      );
      const conflict = await refreshProfiles(needsReauth.id);
      const closed = await refreshProfiles(disconnected.id);

      expect(unknown.statusCode).toBe(404);
      expect(conflict.statusCode).toBe(409);
      expect(conflict.json().message).toContain('reconnect it in the console');
      expect(closed.statusCode).toBe(409);
      expect(profileRequests()).toHaveLength(0);
      expect(sandbox.requests({ endpoint: 'token' })).toHaveLength(0);
    });

    it("answers Amazon's refusal as a typed error and leaves the connection as it was (never needs_reauth)", async () => {
      const connection = await seed(SELLER);
      sandbox.queueFault({
        endpoint: 'profiles',
        kind: 'unauthorized',
        count: 1,
      });

      const response = await refreshProfiles(connection.id);

      expect(response.statusCode).toBe(502);
      expect(response.json().message).toContain('401');
      const after = await row(connection.id);
      expect(after.status).toBe('active');
      expect(after.profilesReadAt).toEqual(connection.profilesReadAt);
    });
  });
});

import {
  DEFAULT_ACCOUNT,
  profilesFor,
  resolveAccount,
  SAMPLE_ACCOUNTS,
} from './accounts';
import { startLwaSandbox } from './lwa-sandbox';
import { ManualClock } from './sandbox-clock';
import type { RunningSandbox } from './sandbox-options';
import { getProfiles } from '../testing/sandbox-test-kit';

describe(`${startLwaSandbox.name}: GET /v2/profiles`, () => {
  const clock = new ManualClock();
  let sut: RunningSandbox;

  beforeAll(async () => {
    sut = await startLwaSandbox({ port: 0, clock });
  });
  afterEach(() => sut.reset());
  afterAll(() => sut.close());

  it('lists the consenting account’s profiles, the same every time', async () => {
    const { access_token } = sut.issueTokens('Grace Garden');
    const account = resolveAccount('Grace Garden');
    if (!account) throw new Error('account expected');

    const response = await getProfiles(sut, access_token);
    const again = await getProfiles(
      sut,
      sut.issueTokens(' Grace   Garden').access_token,
    );

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    const body: unknown = await response.json();
    expect(body).toEqual(profilesFor(account));
    expect(await again.json()).toEqual(body);
    expect(body).toEqual([
      expect.objectContaining({
        profileId: expect.any(Number),
        countryCode: 'US',
        currencyCode: 'USD',
        timezone: 'America/Los_Angeles',
        accountInfo: {
          marketplaceStringId: 'ATVPDKIKX0DER',
          id: account.id,
          type: 'seller',
          name: 'Grace Garden',
          validPaymentMethod: true,
        },
      }),
      expect.objectContaining({ countryCode: 'UK', currencyCode: 'GBP' }),
      expect.objectContaining({ countryCode: 'JP', currencyCode: 'JPY' }),
    ]);
  });

  it('answers one profile by id, and 404 for another account’s', async () => {
    const { access_token } = sut.issueTokens();
    const [first] = profilesFor(DEFAULT_ACCOUNT);
    const [foreign] = profilesFor(SAMPLE_ACCOUNTS[1] ?? DEFAULT_ACCOUNT);

    const own = await getProfiles(
      sut,
      access_token,
      `/v2/profiles/${first?.profileId ?? 0}`,
    );
    const other = await getProfiles(
      sut,
      access_token,
      `/v2/profiles/${foreign?.profileId ?? 0}`,
    );

    expect(await own.json()).toEqual(first);
    expect(other.status).toBe(404);
  });

  it('filters by profile type and payment method', async () => {
    const { access_token } = sut.issueTokens();

    const vendors = (await (
      await getProfiles(
        sut,
        access_token,
        '/v2/profiles?profileTypeFilter=vendor',
      )
    ).json()) as unknown[];
    const payable = (await (
      await getProfiles(
        sut,
        access_token,
        '/v2/profiles?validPaymentMethodFilter=true',
      )
    ).json()) as unknown[];

    expect(vendors).toEqual([]);
    expect(payable).toHaveLength(2);
  });

  it('answers 401 for an unknown, revoked or expired token', async () => {
    const revoked = sut.issueTokens().access_token;
    sut.revokeAccessToken(revoked);
    const expiring = sut.issueTokens().access_token;
    clock.advance(3600_000);

    for (const token of ['Atza|nope', revoked, expiring]) {
      const response = await getProfiles(sut, token);

      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        code: 'UNAUTHORIZED',
        details: expect.any(String),
        requestId: expect.any(String),
      });
    }
  });

  it('answers 401 without a bearer token', async () => {
    const response = await fetch(`${sut.url}/v2/profiles`, {
      headers: { 'Amazon-Advertising-API-ClientId': sut.clientId },
    });

    expect(response.status).toBe(401);
  });

  it('needs the Amazon-Advertising-API-ClientId header, matching the token’s client', async () => {
    const { access_token } = sut.issueTokens();

    const missing = await fetch(`${sut.url}/v2/profiles`, {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    const mismatched = await fetch(`${sut.url}/v2/profiles`, {
      headers: {
        Authorization: `Bearer ${access_token}`,
        'Amazon-Advertising-API-ClientId': 'someone-else',
      },
    });

    expect(missing.status).toBe(400);
    expect(mismatched.status).toBe(401);
  });

  it('follows the access-token lifetime setting', async () => {
    sut.updateSettings({ accessTokenLifetimeSeconds: 5 });
    const { access_token, expires_in } = sut.issueTokens();

    clock.advance(4_000);
    const before = await getProfiles(sut, access_token);
    clock.advance(1_000);
    const after = await getProfiles(sut, access_token);

    expect(expires_in).toBe(5);
    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
  });
});

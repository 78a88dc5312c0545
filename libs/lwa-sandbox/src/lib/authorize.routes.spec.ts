import { createPkcePair } from './credentials';
import { startLwaSandbox } from './lwa-sandbox';
import type { RunningSandbox } from './sandbox-options';
import {
  authorizeUrl,
  exchangeCode,
  getProfiles,
  obtainCode,
  REDIRECT_URI,
  redirectTarget,
} from '../testing/sandbox-test-kit';

/** Submits the consent form the way a browser would. */
function decide(
  sut: RunningSandbox,
  fields: Record<string, string>,
): Promise<Response> {
  return fetch(`${sut.url}/ap/oa/decision`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
}

function consentIdIn(html: string): string {
  const id = /name="consent_id" value="([^"]+)"/.exec(html)?.[1];
  if (id === undefined) throw new Error('no consent_id in the page');
  return id;
}

describe(`${startLwaSandbox.name}: consent (GET /ap/oa)`, () => {
  let sut: RunningSandbox;

  beforeAll(async () => {
    sut = await startLwaSandbox({
      port: 0,
      redirectUris: [REDIRECT_URI, 'https://keeper.example/cb?tenant=a%20b'],
    });
  });
  afterEach(() => sut.reset());
  afterAll(() => sut.close());

  it('shows an accessible consent page: app, scope, accounts, Allow and Deny', async () => {
    const response = await fetch(authorizeUrl(sut));
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(html).toContain('<html lang="en">');
    expect(html).toContain(
      'Ads Token Keeper would like to access your Amazon Advertising account',
    );
    expect(html).toContain(sut.clientId);
    expect(html).toContain('advertising::campaign_management');
    expect(html).toContain('http://localhost:3000');
    expect(html).toMatch(
      /<input type="radio" name="account" value="A1SANDBOXACME01" checked>/,
    );
    expect(html).toContain('<label for="account_other">');
    expect(html).toContain(
      '<button type="submit" name="decision" value="allow">Allow</button>',
    );
    expect(html).toContain(
      '<button type="submit" name="decision" value="deny">Deny</button>',
    );
    expect(html).not.toContain('<script');
  });

  it('escapes what it echoes', async () => {
    const page = await (await fetch(authorizeUrl(sut))).text();
    const typed = `<img src=x onerror=alert(1)>${'x'.repeat(100)}`;

    const html = await (
      await decide(sut, {
        consent_id: consentIdIn(page),
        account_other: typed,
        decision: 'allow',
      })
    ).text();

    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(html).not.toContain('<img');
  });

  it('redirects with a code on Allow for the chosen account', async () => {
    const { codeVerifier, codeChallenge } = createPkcePair();
    const page = await (
      await fetch(authorizeUrl(sut, {}, codeChallenge))
    ).text();

    const response = await decide(sut, {
      consent_id: consentIdIn(page),
      account: 'A3SANDBOXSAKURA',
      account_other: '',
      decision: 'allow',
    });

    expect(response.status).toBe(302);
    const target = redirectTarget(response);
    expect(`${target.origin}${target.pathname}`).toBe(REDIRECT_URI);
    expect(target.searchParams.get('state')).toBe('state-123');
    expect(target.searchParams.get('scope')).toBe(
      'advertising::campaign_management',
    );
    const tokens = (await (
      await exchangeCode(
        sut,
        target.searchParams.get('code') ?? '',
        codeVerifier,
      )
    ).json()) as { access_token: string };
    const profiles = (await (
      await getProfiles(sut, tokens.access_token)
    ).json()) as { countryCode: string }[];
    expect(profiles.map((profile) => profile.countryCode)).toEqual([
      'JP',
      'AU',
      'SG',
    ]);
  });

  it('uses a typed account name over the radio choice', async () => {
    const page = await (await fetch(authorizeUrl(sut))).text();

    const response = await decide(sut, {
      consent_id: consentIdIn(page),
      account: 'A3SANDBOXSAKURA',
      account_other: 'Grace Garden',
      decision: 'allow',
    });

    expect(response.status).toBe(302);
    expect(
      sut.requests({ endpoint: 'consent_decision' })[0]?.accountId,
    ).toMatch(/^A[0-9A-Z]{13}$/);
  });

  it('shows the page again, with the problem, for an unusable typed name', async () => {
    const page = await (await fetch(authorizeUrl(sut))).text();
    const consentId = consentIdIn(page);

    const response = await decide(sut, {
      consent_id: consentId,
      account_other: 'x'.repeat(150),
      decision: 'allow',
    });
    const retry = await decide(sut, {
      consent_id: consentId,
      decision: 'allow',
    });

    expect(response.status).toBe(400);
    expect(await response.text()).toContain('role="alert"');
    expect(retry.status).toBe(302);
  });

  it('redirects with access_denied on Deny', async () => {
    const page = await (await fetch(authorizeUrl(sut))).text();

    const response = await decide(sut, {
      consent_id: consentIdIn(page),
      decision: 'deny',
    });

    const target = redirectTarget(response);
    expect(target.searchParams.get('error')).toBe('access_denied');
    expect(target.searchParams.get('error_description')).toBeTruthy();
    expect(target.searchParams.get('state')).toBe('state-123');
    expect(target.searchParams.has('code')).toBe(false);
  });

  it('answers each consent once', async () => {
    const page = await (await fetch(authorizeUrl(sut))).text();
    const consentId = consentIdIn(page);
    await decide(sut, { consent_id: consentId, decision: 'allow' });

    const again = await decide(sut, {
      consent_id: consentId,
      decision: 'allow',
    });
    const forged = await decide(sut, {
      consent_id: 'forged',
      decision: 'allow',
    });

    expect(again.status).toBe(400);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('expired');
  });

  it('appends to a registered redirect URI that has a query, keeping it as it was', async () => {
    const { redirect } = await obtainCode(sut, {
      redirect_uri: 'https://keeper.example/cb?tenant=a%20b',
    });

    expect(redirect.toString()).toMatch(
      /^https:\/\/keeper\.example\/cb\?tenant=a%20b&code=AN/,
    );
  });

  describe('shortcuts for tests', () => {
    it('sandbox_auto=allow redirects at once, for the account in sandbox_account', async () => {
      const { redirect } = await obtainCode(sut, {
        sandbox_account: 'ENTITY2SANDBOXBRIGHTWAVE',
      });

      expect(redirect.searchParams.get('code')).toMatch(/^AN/);
      expect(sut.requests({ endpoint: 'authorize' })[0]).toEqual(
        expect.objectContaining({
          status: 302,
          outcome: 'allowed',
          accountId: 'ENTITY2SANDBOXBRIGHTWAVE',
        }),
      );
    });

    it('sandbox_auto=deny redirects with access_denied', async () => {
      const response = await fetch(
        authorizeUrl(sut, { sandbox_auto: 'deny' }),
        { redirect: 'manual' },
      );

      expect(redirectTarget(response).searchParams.get('error')).toBe(
        'access_denied',
      );
    });

    it('the autoConsent setting does the same without a URL change', async () => {
      sut.updateSettings({ autoConsent: 'allow' });

      const response = await fetch(authorizeUrl(sut), { redirect: 'manual' });

      expect(redirectTarget(response).searchParams.get('code')).toMatch(/^AN/);
    });

    it('refuses a bad sandbox_auto', async () => {
      expect(
        (await fetch(authorizeUrl(sut, { sandbox_auto: 'maybe' }))).status,
      ).toBe(400);
    });
  });

  describe('validation', () => {
    it.each([
      [
        'an unknown client_id',
        { client_id: 'amzn1.application-oa2-client.evil' },
      ],
      ['no client_id', { client_id: undefined }],
      [
        'an unregistered redirect_uri',
        { redirect_uri: 'https://evil.example/cb' },
      ],
      ['a redirect_uri with a fragment', { redirect_uri: `${REDIRECT_URI}#x` }],
      ['no redirect_uri', { redirect_uri: undefined }],
    ])(
      'shows an error page, never a redirect, for %s',
      async (_, overrides) => {
        const response = await fetch(
          authorizeUrl(sut, { sandbox_auto: 'allow', ...overrides }),
          { redirect: 'manual' },
        );

        expect(response.status).toBe(400);
        expect(response.headers.get('location')).toBeNull();
        expect(await response.text()).toContain('role="alert"');
      },
    );

    it.each([
      [
        'response_type=token',
        { response_type: 'token' },
        'unsupported_response_type',
      ],
      ['no response_type', { response_type: undefined }, 'invalid_request'],
      [
        'an unknown scope',
        { scope: 'advertising::everything' },
        'invalid_scope',
      ],
      ['no scope', { scope: undefined }, 'invalid_scope'],
      ['no code_challenge', { code_challenge: undefined }, 'invalid_request'],
      [
        'code_challenge_method=plain',
        { code_challenge_method: 'plain' },
        'invalid_request',
      ],
      [
        'a malformed code_challenge',
        { code_challenge: 'short' },
        'invalid_request',
      ],
    ])('redirects %s back with an error', async (_, overrides, error) => {
      const response = await fetch(
        authorizeUrl(sut, { sandbox_auto: 'allow', ...overrides }),
        { redirect: 'manual' },
      );

      const target = redirectTarget(response);
      expect(target.searchParams.get('error')).toBe(error);
      expect(target.searchParams.get('state')).toBe('state-123');
      expect(target.searchParams.has('code')).toBe(false);
    });

    it('refuses a repeated parameter', async () => {
      const response = await fetch(
        `${authorizeUrl(sut, { sandbox_auto: 'allow' })}&scope=profile`,
        { redirect: 'manual' },
      );

      expect(redirectTarget(response).searchParams.get('error')).toBe(
        'invalid_request',
      );
    });

    it('accepts any http(s) redirect URI when started with redirectUris "any"', async () => {
      const open = await startLwaSandbox({ port: 0 });
      try {
        const { redirect } = await obtainCode(open, {
          redirect_uri: 'http://127.0.0.1:9/anything',
        });

        expect(redirect.host).toBe('127.0.0.1:9');
        expect(
          (
            await fetch(
              authorizeUrl(open, { redirect_uri: 'javascript:alert(1)' }),
              { redirect: 'manual' },
            )
          ).status,
        ).toBe(400);
      } finally {
        await open.close();
      }
    });
  });
});

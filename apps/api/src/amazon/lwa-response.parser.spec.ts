import {
  amazonDescription,
  parseProfiles,
  parseTokenResponse,
  tokenErrorFor,
} from './lwa-response.parser';
import {
  LwaInvalidGrantError,
  LwaMalformedResponseError,
  LwaRequestRejectedError,
} from './lwa.errors';

describe(amazonDescription.name, () => {
  it('removes what we sent and anything shaped like an LWA token', () => {
    const sut = amazonDescription(
      'bad code ANcodeValue123 for Atzr|IwEBIabc-def and Atza|xyz',
      ['ANcodeValue123'],
    );

    expect(sut).toBe(
      'bad code [Redacted] for Atzr|[Redacted] and Atza|[Redacted]',
    );
  });

  it('drops control characters and truncates to 200 characters', () => {
    const sut = amazonDescription(
      `line one\r\nline\u0000two ${'x'.repeat(500)}`,
    );

    expect(sut).toMatch(/^line one line two x+…$/);
    expect(Array.from(sut ?? '')).toHaveLength(200);
  });

  it('gives undefined for anything but readable text', () => {
    expect(
      [undefined, 42, {}, ' \n '].map((raw) => amazonDescription(raw)),
    ).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe(tokenErrorFor.name, () => {
  const answer = (status: number, body: string) => ({
    status,
    retryAfter: undefined,
    body,
  });

  it('keeps only plain identifiers of Amazon’s error codes', () => {
    const plain = tokenErrorFor(
      answer(400, '{"error":"unsupported_grant_type"}'),
      'refresh_token',
      [],
      0,
    );
    const odd = tokenErrorFor(
      answer(400, '{"error":"<script>alert(1)</script>"}'),
      'refresh_token',
      [],
      0,
    );

    expect(plain).toBeInstanceOf(LwaRequestRejectedError);
    expect(plain.message).toBe(
      'Amazon rejected the request (HTTP 400, unsupported_grant_type).',
    );
    expect(odd.message).toBe('Amazon rejected the request (HTTP 400).');
  });

  it('says which grant Amazon refused', () => {
    const code = tokenErrorFor(
      answer(400, '{"error":"invalid_grant"}'),
      'authorization_code',
      [],
      0,
    );
    const refresh = tokenErrorFor(
      answer(400, '{"error":"invalid_grant"}'),
      'refresh_token',
      [],
      0,
    );

    expect(code).toMatchObject({
      grantType: 'authorization_code',
      message: expect.stringContaining('authorization code'),
    });
    expect(refresh).toBeInstanceOf(LwaInvalidGrantError);
    expect(refresh.message).toContain('refresh token');
  });
});

describe(parseTokenResponse.name, () => {
  const valid = {
    access_token: 'Atza|a',
    refresh_token: 'Atzr|r',
    token_type: 'bearer',
    expires_in: 3600,
  };
  const reasonFor = (
    body: unknown,
    requireRefreshToken = false,
  ): string | undefined => {
    try {
      parseTokenResponse(JSON.stringify(body), requireRefreshToken as false);
      return undefined;
    } catch (error) {
      return error instanceof LwaMalformedResponseError
        ? error.reason
        : 'other error';
    }
  };

  it('reads a valid answer, token type in any case', () => {
    expect(
      parseTokenResponse(
        JSON.stringify({ ...valid, token_type: 'Bearer' }),
        true,
      ),
    ).toEqual({
      accessToken: 'Atza|a',
      refreshToken: 'Atzr|r',
      tokenType: 'bearer',
      expiresInSeconds: 3600,
    });
  });

  it.each([
    ['no access token', { ...valid, access_token: undefined }],
    ['an empty access token', { ...valid, access_token: ' ' }],
    ['a mac token', { ...valid, token_type: 'mac' }],
    ['expires_in as text', { ...valid, expires_in: '3600' }],
    ['a fractional expires_in', { ...valid, expires_in: 3600.5 }],
    ['expires_in 0', { ...valid, expires_in: 0 }],
    ['expires_in over a day', { ...valid, expires_in: 86_401 }],
    ['a numeric refresh token', { ...valid, refresh_token: 42 }],
    ['an empty refresh token', { ...valid, refresh_token: '' }],
    ['an array', [valid]],
  ])('rejects %s', (_, body) => {
    expect(reasonFor(body)).toEqual(expect.any(String));
    expect(reasonFor(body)).not.toBe('other error');
  });

  it('needs a refresh token only when asked to', () => {
    expect(reasonFor({ ...valid, refresh_token: null })).toBeUndefined();
    expect(reasonFor({ ...valid, refresh_token: undefined }, true)).toBe(
      'refresh_token is missing',
    );
  });
});

describe(parseProfiles.name, () => {
  const profile = (profileId: string) =>
    `{"profileId": ${profileId},"countryCode":"US","currencyCode":"USD","timezone":"America/Los_Angeles",` +
    `"accountInfo":{"marketplaceStringId":"ATVPDKIKX0DER","id":"A1","type":"seller","name":"Shop \\"profileId\\": 1"}}`;

  it('keeps profile ids beyond 2^53 exact', () => {
    const sut = parseProfiles(
      `[${profile('12345678901234567')}, ${profile('7')}]`,
    );

    expect(sut.map((item) => item.profileId)).toEqual([
      '12345678901234567',
      '7',
    ]);
    expect(sut[0]?.accountName).toBe('Shop "profileId": 1');
  });

  it.each(['-1', '1.5', '1e3', '"x1"', 'null'])(
    'rejects profileId %s',
    (profileId) => {
      expect(() => parseProfiles(`[${profile(profileId)}]`)).toThrow(
        LwaMalformedResponseError,
      );
    },
  );
});

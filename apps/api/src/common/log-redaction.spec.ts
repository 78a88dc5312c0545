import { redactSecrets, redactUrl, scrubString } from './log-redaction';

describe('log redaction', () => {
  it('masks every field named like a token, code, secret or password, at any depth', () => {
    const sut = redactSecrets({
      accessToken: 'a',
      refresh_token: 'b',
      clientSecret: 'c',
      password: 'd',
      code: 'e',
      codeVerifier: 'f',
      headers: { authorization: 'Bearer g', cookie: 'h' },
      nested: [{ apiKey: 'i', state: 'j' }],
      statusCode: 400,
      countryCode: 'US',
      message: 'kept',
    });

    expect(sut).toEqual({
      accessToken: '[Redacted]',
      refresh_token: '[Redacted]',
      clientSecret: '[Redacted]',
      password: '[Redacted]',
      code: '[Redacted]',
      codeVerifier: '[Redacted]',
      headers: { authorization: '[Redacted]', cookie: '[Redacted]' },
      nested: [{ apiKey: '[Redacted]', state: '[Redacted]' }],
      statusCode: 400,
      countryCode: 'US',
      message: 'kept',
    });
  });

  it('scrubs LWA tokens and Fernet ciphertexts out of free text and errors', () => {
    const text =
      'got Atza|IwEBIExample-123 and Atzr|IwEBIRefresh_456 then gAAAAABnExampleCiphertextValue1234567890==';

    expect(scrubString(text)).toBe(
      'got Atza|[Redacted] and Atzr|[Redacted] then [Redacted]',
    );
    expect(redactSecrets(new Error('bad Atza|secret'))).toMatchObject({
      message: 'bad Atza|[Redacted]',
    });
  });

  it('masks secret query parameters in URLs', () => {
    expect(
      redactUrl('/api/v1/auth/amazon/callback?code=ANxyz&state=abc&scope=x'),
    ).toBe(
      '/api/v1/auth/amazon/callback?code=[Redacted]&state=[Redacted]&scope=x',
    );
    expect(redactUrl('/health/live')).toBe('/health/live');
  });

  it('masks every query value whose name is not on the short list of safe ones', () => {
    const serviceKey = 'svc-key-canary-0123456789abcdef';
    const sut = redactUrl(
      `/api/v1/connections?key=${serviceKey}&authCode=ac-canary&auth=au-canary&q=label-canary&region=na&status=active` +
        '&limit=5&cursor=abc&sort=label&type=refreshed&connectionId=7&before=9&error=access_denied',
    );

    expect(sut).toBe(
      '/api/v1/connections?key=[Redacted]&authCode=[Redacted]&auth=[Redacted]&q=[Redacted]&region=na&status=active' +
        '&limit=5&cursor=abc&sort=label&type=refreshed&connectionId=7&before=9&error=access_denied',
    );
    expect(sut).not.toContain('canary');
  });

  it('masks a secret used as a query name, and repeated names each time', () => {
    const secret = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA';

    expect(redactUrl(`/api/v1/x?${secret}&region=na&token=a&token=b`)).toBe(
      '/api/v1/x?[Redacted]=[Redacted]&region=na&token=[Redacted]&token=[Redacted]',
    );
  });

  it('masks path segments shaped like random secrets, keeping ids and route words', () => {
    const linkToken = 'q7Hk2pXv9LmN4sR8tY1wZ3aB6cD0eF5gJ';
    const id = '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';

    expect(redactUrl(`/api/v1/connect/${linkToken}?region=na`)).toBe(
      '/api/v1/connect/[Redacted]?region=na',
    );
    expect(redactUrl(`/api/v1/connections/${id}/access-token`)).toBe(
      `/api/v1/connections/${id}/access-token`,
    );
    expect(redactUrl('/api/v1/audit-events/12345')).toBe(
      '/api/v1/audit-events/12345',
    );
    expect(redactUrl('/api/docs/swagger-ui-standalone-preset.js')).toBe(
      '/api/docs/swagger-ui-standalone-preset.js',
    );
    // A key from `openssl rand -hex 24` is all lower case: one long word, not a route word.
    const hexKey = 'c0ffee4b1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6';
    expect(redactUrl(`/api/v1/connections/${hexKey}/access-token`)).toBe(
      '/api/v1/connections/[Redacted]/access-token',
    );
  });

  it("masks a connect link's secret whatever its shape, but not its done page", () => {
    // A random secret shaped like route words (rare, possible): masked all the same.
    const wordy = 'abcdefghijkl-mnopqrstuvw-xyzabcdefgh-ijklm';
    expect(redactUrl(`/api/v1/connect/${wordy}`)).toBe(
      '/api/v1/connect/[Redacted]',
    );
    expect(redactUrl('/api/v1/connect/short')).toBe(
      '/api/v1/connect/[Redacted]',
    );
    expect(redactUrl('/api/v1/connect/done?outcome=connected')).toBe(
      '/api/v1/connect/done?outcome=connected',
    );
    expect(redactUrl('/api/v1/connect-links/12345')).toBe(
      '/api/v1/connect-links/12345',
    );
  });
});

import { readSandboxEnv } from './sandbox-env';

describe(readSandboxEnv.name, () => {
  it('has defaults for everything', () => {
    const sut = readSandboxEnv({});

    expect(sut).toEqual({
      ok: true,
      options: {
        port: 4010,
        host: '127.0.0.1',
        clientId: 'amzn1.application-oa2-client.sandbox',
        clientSecret: 'sandbox-client-secret',
        accessTokenLifetimeSeconds: 3600,
        rotateRefreshTokens: false,
        autoConsent: 'off',
        redirectUris: 'any',
        reportBytes: 4096,
        reportDelaySeconds: 0,
        tokenDelayMs: 0,
      },
    });
  });

  it('reads every variable', () => {
    const sut = readSandboxEnv({
      SANDBOX_PORT: '0',
      SANDBOX_HOST: '0.0.0.0',
      SANDBOX_CLIENT_ID: 'amzn1.application-oa2-client.test',
      SANDBOX_CLIENT_SECRET: 's3cret',
      SANDBOX_EXPIRES_IN: '120',
      SANDBOX_ROTATE_REFRESH_TOKENS: 'TRUE',
      SANDBOX_AUTO_CONSENT: 'allow',
      SANDBOX_REDIRECT_URIS:
        'http://localhost:3000/cb, https://keeper.example/cb',
      SANDBOX_REPORT_BYTES: '52428800',
      SANDBOX_REPORT_DELAY_SECONDS: '5',
      SANDBOX_TOKEN_DELAY_MS: '150',
    });

    expect(sut).toEqual({
      ok: true,
      options: {
        port: 0,
        host: '0.0.0.0',
        clientId: 'amzn1.application-oa2-client.test',
        clientSecret: 's3cret',
        accessTokenLifetimeSeconds: 120,
        rotateRefreshTokens: true,
        autoConsent: 'allow',
        redirectUris: ['http://localhost:3000/cb', 'https://keeper.example/cb'],
        reportBytes: 52428800,
        reportDelaySeconds: 5,
        tokenDelayMs: 150,
      },
    });
  });

  it('names every bad value, one line each', () => {
    const sut = readSandboxEnv({
      SANDBOX_PORT: '80a',
      SANDBOX_EXPIRES_IN: '0',
      SANDBOX_ROTATE_REFRESH_TOKENS: 'sometimes',
      SANDBOX_AUTO_CONSENT: 'maybe',
      SANDBOX_REDIRECT_URIS: 'not a url',
      SANDBOX_REPORT_BYTES: '1',
    });

    expect(sut.ok).toBe(false);
    if (sut.ok) return;
    expect(sut.errors).toEqual([
      'Invalid environment variable SANDBOX_PORT: must be a whole number from 0 to 65535, got "80a"',
      'Invalid environment variable SANDBOX_EXPIRES_IN: must be a whole number from 1 to 31622400, got "0"',
      'Invalid environment variable SANDBOX_REPORT_BYTES: must be a whole number from 2 to 1073741824, got "1"',
      'Invalid environment variable SANDBOX_ROTATE_REFRESH_TOKENS: must be true or false, got "sometimes"',
      'Invalid environment variable SANDBOX_AUTO_CONSENT: must be off, allow or deny, got "maybe"',
      'Invalid environment variable SANDBOX_REDIRECT_URIS: must be "any" or comma-separated absolute URLs without fragments, got "not a url"',
    ]);
  });

  it('refuses production with one line', () => {
    const sut = readSandboxEnv({ NODE_ENV: 'production', SANDBOX_PORT: 'bad' });

    expect(sut).toEqual({
      ok: false,
      errors: [
        expect.stringMatching(
          /^lwa-sandbox: refusing to start with NODE_ENV=production/,
        ),
      ],
    });
  });
});

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
    const text = 'got Atza|IwEBIExample-123 and Atzr|IwEBIRefresh_456 then gAAAAABnExampleCiphertextValue1234567890==';

    expect(scrubString(text)).toBe('got Atza|[Redacted] and Atzr|[Redacted] then [Redacted]');
    expect(redactSecrets(new Error('bad Atza|secret'))).toMatchObject({ message: 'bad Atza|[Redacted]' });
  });

  it('masks secret query parameters in URLs', () => {
    expect(redactUrl('/api/v1/auth/amazon/callback?code=ANxyz&state=abc&scope=x')).toBe(
      '/api/v1/auth/amazon/callback?code=[Redacted]&state=[Redacted]&scope=x',
    );
    expect(redactUrl('/health/live')).toBe('/health/live');
  });
});

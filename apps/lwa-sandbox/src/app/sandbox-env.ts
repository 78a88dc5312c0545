import type { AutoConsent, LwaSandboxOptions } from '@keeper/lwa-sandbox';

export type SandboxEnvResult =
  | { ok: true; options: LwaSandboxOptions }
  | { ok: false; errors: string[] };

const BOOLEAN_WORDS: Readonly<Record<string, boolean>> = {
  true: true,
  '1': true,
  yes: true,
  false: false,
  '0': false,
  no: false,
};

/**
 * Reads the sandbox's own environment, once. Every bad value gives one line; NODE_ENV=production
 * gives one line too, because this process hands out tokens that look like Amazon's.
 */
export function readSandboxEnv(env: NodeJS.ProcessEnv): SandboxEnvResult {
  if (env['NODE_ENV'] === 'production') {
    return {
      ok: false,
      errors: [
        'lwa-sandbox: refusing to start with NODE_ENV=production: it is a stand-in for Login with Amazon, for development and tests only.',
      ],
    };
  }
  const errors: string[] = [];
  const invalid = (name: string, rule: string): void => {
    errors.push(
      `Invalid environment variable ${name}: ${rule}, got "${String(env[name]).slice(0, 80)}"`,
    );
  };
  const wholeNumber = (
    name: string,
    fallback: number,
    min: number,
    max: number,
  ): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
      invalid(name, `must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const text = (name: string, fallback: string): string => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
  };

  const port = wholeNumber('SANDBOX_PORT', 4010, 0, 65535);
  const accessTokenLifetimeSeconds = wholeNumber(
    'SANDBOX_EXPIRES_IN',
    3600,
    1,
    366 * 24 * 3600,
  );
  const reportBytes = wholeNumber(
    'SANDBOX_REPORT_BYTES',
    4096,
    2,
    1024 * 1024 * 1024,
  );
  const reportDelaySeconds = wholeNumber(
    'SANDBOX_REPORT_DELAY_SECONDS',
    0,
    0,
    86_400,
  );
  const tokenDelayMs = wholeNumber('SANDBOX_TOKEN_DELAY_MS', 0, 0, 60_000);

  const rotateRaw = text(
    'SANDBOX_ROTATE_REFRESH_TOKENS',
    'false',
  ).toLowerCase();
  const rotateRefreshTokens = BOOLEAN_WORDS[rotateRaw];
  if (rotateRefreshTokens === undefined)
    invalid('SANDBOX_ROTATE_REFRESH_TOKENS', 'must be true or false');

  const autoConsent = text('SANDBOX_AUTO_CONSENT', 'off');
  if (
    autoConsent !== 'off' &&
    autoConsent !== 'allow' &&
    autoConsent !== 'deny'
  )
    invalid('SANDBOX_AUTO_CONSENT', 'must be off, allow or deny');

  const redirectRaw = text('SANDBOX_REDIRECT_URIS', 'any');
  const redirectUris =
    redirectRaw === 'any'
      ? 'any'
      : redirectRaw
          .split(',')
          .map((uri) => uri.trim())
          .filter((uri) => uri !== '');
  if (
    redirectUris !== 'any' &&
    (redirectUris.length === 0 ||
      redirectUris.some((uri) => !URL.canParse(uri) || uri.includes('#')))
  ) {
    invalid(
      'SANDBOX_REDIRECT_URIS',
      'must be "any" or comma-separated absolute URLs without fragments',
    );
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    options: {
      port,
      host: text('SANDBOX_HOST', '127.0.0.1'),
      clientId: text(
        'SANDBOX_CLIENT_ID',
        'amzn1.application-oa2-client.sandbox',
      ),
      clientSecret: text('SANDBOX_CLIENT_SECRET', 'sandbox-client-secret'),
      accessTokenLifetimeSeconds,
      rotateRefreshTokens: rotateRefreshTokens ?? false,
      autoConsent: autoConsent as AutoConsent,
      redirectUris,
      reportBytes,
      reportDelaySeconds,
      tokenDelayMs,
    },
  };
}

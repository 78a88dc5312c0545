import { Fernet } from '@keeper/fernet';
import {
  InvalidConfigError,
  loadAppConfig,
  SANDBOX_CLIENT_ID,
} from './app-config';

function problemsOf(environment: Record<string, string>): string[] {
  try {
    loadAppConfig(environment);
  } catch (error) {
    if (error instanceof InvalidConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe(loadAppConfig.name, () => {
  it('starts with no configuration at all: sandbox, embedded database, contract defaults', () => {
    const sut = loadAppConfig({}, '/srv/app');

    expect(sut).toMatchObject({
      nodeEnv: 'development',
      port: 3000,
      databaseUrl: undefined,
      migrateOnStart: true,
      dataDir: '/srv/app/.data',
      fernetKeys: [],
      serviceApiKeys: [],
      refresh: {
        cron: '0 * * * * *',
        windowSeconds: 300,
        maxRetries: 5,
        concurrency: 96,
        maxPerSecond: 500,
      },
      alerts: undefined,
      logLevel: 'info',
    });
    expect(sut.amazon).toEqual({
      usingSandbox: true,
      clientId: SANDBOX_CLIENT_ID,
      clientSecret: expect.any(String),
      redirectUri: 'http://localhost:3000/api/v1/auth/amazon/callback',
      timeoutMs: 10_000,
      authorizeUrlOverride: 'http://localhost:4010/ap/oa',
      tokenUrlOverride: 'http://localhost:4010/auth/o2/token',
      adsApiUrlOverride: 'http://localhost:4010',
    });
  });

  it('uses real Amazon, with per-region URLs, once a client id and secret are set', () => {
    const sut = loadAppConfig({
      AMAZON_CLIENT_ID: 'amzn1.application-oa2-client.x',
      AMAZON_CLIENT_SECRET: 's3cret',
    });

    expect(sut.amazon).toMatchObject({
      usingSandbox: false,
      authorizeUrlOverride: undefined,
      tokenUrlOverride: undefined,
      adsApiUrlOverride: undefined,
    });
  });

  it('parses lists and numbers', () => {
    const [primary, old] = [Fernet.generateKey(), Fernet.generateKey()];
    const sut = loadAppConfig({
      FERNET_KEYS: ` ${primary} , ${old},,`,
      SERVICE_API_KEYS: 'k'.repeat(24) + ',' + 'j'.repeat(30),
      PORT: '8080',
      REFRESH_WINDOW_SECONDS: '600',
      DB_MIGRATE: 'false',
    });

    expect(sut.fernetKeys).toEqual([primary, old]);
    expect(sut.serviceApiKeys).toHaveLength(2);
    expect(sut.port).toBe(8080);
    expect(sut.refresh.windowSeconds).toBe(600);
    expect(sut.migrateOnStart).toBe(false);
  });

  it("refuses a refresh window so close to the tokens' 3600 s lifetime that every token would always be due, and says why", () => {
    expect(
      loadAppConfig({ REFRESH_WINDOW_SECONDS: '1800' }).refresh.windowSeconds,
    ).toBe(1800);
    for (const window of ['1801', '3300', '3600']) {
      expect(problemsOf({ REFRESH_WINDOW_SECONDS: window })).toEqual([
        expect.stringMatching(
          /^REFRESH_WINDOW_SECONDS must be a whole number of seconds from 30 to 1800 \(half the 3600 s an Amazon access token lives/,
        ),
      ]);
    }
  });

  it('takes the refreshes in flight and the cap on token requests a second, and refuses what makes no sense', () => {
    expect(
      loadAppConfig({
        REFRESH_CONCURRENCY: '200',
        REFRESH_MAX_PER_SECOND: '50',
      }).refresh,
    ).toMatchObject({ concurrency: 200, maxPerSecond: 50 });
    expect(
      loadAppConfig({ REFRESH_CONCURRENCY: '1', REFRESH_MAX_PER_SECOND: '1' })
        .refresh,
    ).toMatchObject({ concurrency: 1, maxPerSecond: 1 });
    for (const value of ['0', '1001', '-5', '1.5', 'many'])
      expect(problemsOf({ REFRESH_CONCURRENCY: value })).toEqual([
        'REFRESH_CONCURRENCY must be a whole number from 1 to 1000',
      ]);
    for (const value of ['0', '10001', '2.5', 'fast'])
      expect(problemsOf({ REFRESH_MAX_PER_SECOND: value })).toEqual([
        'REFRESH_MAX_PER_SECOND must be a whole number of token requests a second from 1 to 10000',
      ]);
    // More in flight than the cap lets through in 10 s would wait out their attempts.
    expect(
      problemsOf({ REFRESH_CONCURRENCY: '64', REFRESH_MAX_PER_SECOND: '5' }),
    ).toEqual([
      'REFRESH_CONCURRENCY (64) must be at most 10 times REFRESH_MAX_PER_SECOND (5): more refreshes in flight than the cap lets through in 10 s would wait out their 30 s attempt',
    ]);
    expect(
      problemsOf({ REFRESH_CONCURRENCY: '50', REFRESH_MAX_PER_SECOND: '5' }),
    ).toEqual([]);
  });

  it('lists every bad value, one line each', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://localhost/x',
      REFRESH_CRON: 'every minute',
      REFRESH_WINDOW_SECONDS: '5',
      REFRESH_MAX_RETRIES: '99',
      LOG_LEVEL: 'loud',
      AMAZON_CLIENT_ID: 'only-the-id',
      ALERT_WEBHOOK_URL: 'https://hooks.example.com/x',
      AMAZON_REDIRECT_URI: 'not a url',
    });

    expect(problems).toEqual(
      expect.arrayContaining([
        'PORT must be a whole number from 0 to 65535',
        'DATABASE_URL must be a postgres:// or postgresql:// URL (or unset for the embedded database)',
        'REFRESH_CRON must be a cron expression such as "0 * * * * *" (every minute)',
        'REFRESH_WINDOW_SECONDS must be a whole number of seconds from 30 to 1800 (half the 3600 s an Amazon access token lives; a longer window would refresh every token again soon after its refresh)',
        'REFRESH_MAX_RETRIES must be a whole number from 0 to 10',
        'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
        'AMAZON_CLIENT_ID and AMAZON_CLIENT_SECRET must be set together',
        'ALERT_WEBHOOK_SECRET must be set when ALERT_WEBHOOK_URL is set',
        'AMAZON_REDIRECT_URI must be an http(s) URL',
      ]),
    );
    expect(problems).toHaveLength(9);
  });

  it('requires real secrets in production and never prints a value', () => {
    const error = (() => {
      try {
        loadAppConfig({
          NODE_ENV: 'production',
          SERVICE_API_KEYS: 'short-secret-value',
        });
      } catch (caught) {
        return caught as InvalidConfigError;
      }
      throw new Error('expected a configuration error');
    })();

    expect(error.problems).toEqual([
      'SERVICE_API_KEYS key #1 must be at least 24 characters',
      'FERNET_KEYS is required when NODE_ENV=production',
      'ADMIN_PASSWORD is required when NODE_ENV=production',
      'AMAZON_CLIENT_ID is required when NODE_ENV=production (the LWA sandbox is for development)',
    ]);
    expect(error.message).toMatch(/^Invalid environment variables:\n {2}- /);
    expect(error.message).not.toContain('short-secret-value');
  });

  it('names each bad Fernet key by its position, never by its value', () => {
    const good = Fernet.generateKey();
    const error = (() => {
      try {
        loadAppConfig({
          FERNET_KEYS: `${good},not-a-key-canary,${good.replace(/=$/, '')},${'A'.repeat(44)}`,
        });
      } catch (caught) {
        return caught as InvalidConfigError;
      }
      throw new Error('expected a configuration error');
    })();

    expect(error.problems).toEqual([
      'FERNET_KEYS key #2 is not a valid Fernet key (32 bytes, url-safe base64)',
      'FERNET_KEYS key #3 repeats key #1',
      'FERNET_KEYS key #4 is not a valid Fernet key (32 bytes, url-safe base64)',
    ]);
    expect(error.message).not.toContain('canary');
    expect(error.message).not.toContain(good.slice(0, 20));
  });

  it('trusts no proxy by default, and takes a hop count or proxy addresses from TRUST_PROXY', () => {
    expect(loadAppConfig({}).trustProxy).toBe(false);
    expect(loadAppConfig({ TRUST_PROXY: 'off' }).trustProxy).toBe(false);
    expect(loadAppConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false);
    expect(loadAppConfig({ TRUST_PROXY: ' 2 ' }).trustProxy).toBe(2);
    expect(
      loadAppConfig({
        TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,fd00::/8,::1, uniquelocal',
      }).trustProxy,
    ).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', '::1', 'uniquelocal']);
  });

  it.each([
    [
      'true',
      'TRUST_PROXY=true would believe X-Forwarded-For from any client: give the number of proxies in front of the API (1 for one) or their addresses',
    ],
    [
      '11',
      'TRUST_PROXY must be off, a hop count from 1 to 10, or a comma-separated list of proxy addresses and CIDR ranges (or loopback, linklocal, uniquelocal)',
    ],
    [
      '10.0.0.0/33,nginx',
      'TRUST_PROXY must be off, a hop count from 1 to 10, or a comma-separated list of proxy addresses and CIDR ranges (or loopback, linklocal, uniquelocal); not understood: 10.0.0.0/33, nginx',
    ],
    [
      '-1',
      'TRUST_PROXY must be off, a hop count from 1 to 10, or a comma-separated list of proxy addresses and CIDR ranges (or loopback, linklocal, uniquelocal); not understood: -1',
    ],
  ])('refuses TRUST_PROXY=%s with one clear line', (value, line) => {
    expect(problemsOf({ TRUST_PROXY: value })).toEqual([line]);
  });

  it('treats blank values as unset', () => {
    expect(
      loadAppConfig({ DATABASE_URL: '  ', PORT: '' }).databaseUrl,
    ).toBeUndefined();
  });

  it('reads the session idle timeout (default 30 minutes) and an optional metrics token, never printing it', () => {
    expect(loadAppConfig({})).toMatchObject({
      sessionIdleMs: 30 * 60_000,
      metricsToken: undefined,
    });
    expect(
      loadAppConfig({
        SESSION_IDLE_MINUTES: '5',
        METRICS_TOKEN: 'm'.repeat(24),
      }),
    ).toMatchObject({
      sessionIdleMs: 5 * 60_000,
      metricsToken: 'm'.repeat(24),
    });
    const problems = problemsOf({
      SESSION_IDLE_MINUTES: '0',
      METRICS_TOKEN: 'short-metrics-canary',
    });
    expect(problems).toEqual([
      'SESSION_IDLE_MINUTES must be a whole number of minutes from 1 to 720',
      'METRICS_TOKEN must be at least 24 characters',
    ]);
    expect(problems.join('\n')).not.toContain('canary');
  });

  it('keeps audit events 90 days by default, 0 keeping them all, and refuses anything but 0 to 3650 days', () => {
    expect(loadAppConfig({}).auditRetentionDays).toBe(90);
    expect(
      loadAppConfig({ AUDIT_RETENTION_DAYS: '0' }).auditRetentionDays,
    ).toBe(0);
    expect(
      loadAppConfig({ AUDIT_RETENTION_DAYS: ' 3650 ' }).auditRetentionDays,
    ).toBe(3650);
    for (const days of ['-1', '3651', '7.5', 'forever']) {
      expect(problemsOf({ AUDIT_RETENTION_DAYS: days })).toEqual([
        'AUDIT_RETENTION_DAYS must be a whole number of days from 0 to 3650 (0 keeps every audit event)',
      ]);
    }
  });
});

import { plainToInstance, Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';
import { keyIdOf } from '@keeper/fernet';
import { validateCronExpression } from 'cron';
import { isIP } from 'node:net';
import { resolve } from 'node:path';

const LOG_LEVELS = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

const trimmed = () =>
  Transform(({ value }) => {
    if (typeof value !== 'string') return value;
    const text = value.trim();
    return text === '' ? undefined : text;
  });

const integer = () =>
  Transform(({ value }) => {
    if (typeof value !== 'string') return value;
    if (value.trim() === '') return undefined;
    return /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  });

const PORT_RANGE = 'must be a whole number from 0 to 65535';
/**
 * Amazon's access tokens live 3600 s: a REFRESH_WINDOW_SECONDS longer than half of that would
 * make each token due again soon after its refresh, so it is refused at start (README, "What the
 * service does on its own"; the refresh rules are in `connections/connection-rules.ts`).
 */
export const MAX_REFRESH_WINDOW_SECONDS = 1800;

const WINDOW_RANGE = `must be a whole number of seconds from 30 to ${MAX_REFRESH_WINDOW_SECONDS} (half the 3600 s an Amazon access token lives; a longer window would refresh every token again soon after its refresh)`;
const RETRIES_RANGE = 'must be a whole number from 0 to 10';
/**
 * Refreshes in flight at once per replica in a sweep. Amazon answers a token request in about
 * 150 ms, so N in flight make at most N / 0.15 refreshes a second; the database work around
 * each call (claim, read, decrypt, encrypt, write, audit) takes some of that back. Measured
 * (`npm run bench -- --scale`: 10,000 due among 100,000, the sandbox at 150 ms, one replica,
 * a shared 2-core machine): 64 took 28.5 s (351/s), 96 took 24.2 s (414/s), so 96, which
 * finishes well within the one-minute cycle with room for a busier machine (32 took 74 s in
 * issue #17). With the default cap (500/s) it cannot go faster than 20 s. More replicas add theirs.
 */
export const DEFAULT_REFRESH_CONCURRENCY = 96;
export const MAX_REFRESH_CONCURRENCY = 1000;
const CONCURRENCY_RANGE = `must be a whole number from 1 to ${MAX_REFRESH_CONCURRENCY}`;
/**
 * Token requests a second per replica, the sweep's and the jobs' together (retries included).
 * 500 by default: above the ~414 a second measured with 96 refreshes in flight at Amazon's
 * 150 ms, so it lets 10,000 due connections through in 20 s at best, and keeps a replica from
 * sending more than 500 a second when Amazon answers faster (after an outage, every waiting
 * connection is due at once).
 */
export const DEFAULT_REFRESH_MAX_PER_SECOND = 500;
export const MAX_REFRESH_MAX_PER_SECOND = 10_000;
const RATE_RANGE = `must be a whole number of token requests a second from 1 to ${MAX_REFRESH_MAX_PER_SECOND}`;
/**
 * A sweep's refresh may wait for the rate cap at most this long behind the others in flight: its
 * attempt (and its lease) is running meanwhile, and an attempt must end within 30 s.
 */
export const MAX_RATE_WAIT_SECONDS = 10;
// At most 30 s: a refresh lease (90 s) must outlast three HTTP timeouts.
const TIMEOUT_RANGE =
  'must be a whole number of milliseconds from 100 to 30000';
const IDLE_RANGE = 'must be a whole number of minutes from 1 to 720';
const RETENTION_RANGE =
  'must be a whole number of days from 0 to 3650 (0 keeps every audit event)';

const HTTP_URL = {
  require_tld: false,
  require_protocol: true,
  protocols: ['http', 'https'],
};

/**
 * The environment as the API accepts it (the README's Configuration section and `.env.example`). Every rule carries the message an
 * operator reads when the value is wrong, so a bad start prints one clear line per variable.
 */
class EnvironmentVariables {
  @IsOptional()
  @trimmed()
  @IsIn(NODE_ENVS, { message: `must be one of ${NODE_ENVS.join(', ')}` })
  NODE_ENV?: NodeEnv;

  @IsOptional()
  @integer()
  @IsInt({ message: PORT_RANGE })
  @Min(0, { message: PORT_RANGE })
  @Max(65535, { message: PORT_RANGE })
  PORT?: number;

  @IsOptional()
  @trimmed()
  @IsString()
  HOST?: string;

  @IsOptional()
  @trimmed()
  @IsUrl(
    {
      require_tld: false,
      require_protocol: true,
      protocols: ['postgres', 'postgresql'],
    },
    {
      message:
        'must be a postgres:// or postgresql:// URL (or unset for the embedded database)',
    },
  )
  DATABASE_URL?: string;

  @IsOptional()
  @trimmed()
  @IsIn(['true', 'false'], { message: 'must be true or false' })
  DB_MIGRATE?: string;

  @IsOptional()
  @trimmed()
  @IsString()
  DATA_DIR?: string;

  @IsOptional()
  @trimmed()
  @IsString()
  FERNET_KEYS?: string;

  @IsOptional()
  @trimmed()
  @IsString()
  AMAZON_CLIENT_ID?: string;

  @IsOptional()
  @trimmed()
  @IsString()
  AMAZON_CLIENT_SECRET?: string;

  @IsOptional()
  @trimmed()
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  AMAZON_REDIRECT_URI?: string;

  @IsOptional()
  @trimmed()
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  AMAZON_AUTHORIZE_URL?: string;

  @IsOptional()
  @trimmed()
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  AMAZON_TOKEN_URL?: string;

  @IsOptional()
  @trimmed()
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  AMAZON_ADS_API_URL?: string;

  @IsOptional()
  @trimmed()
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  SANDBOX_URL?: string;

  @IsOptional()
  @integer()
  @IsInt({ message: TIMEOUT_RANGE })
  @Min(100, { message: TIMEOUT_RANGE })
  @Max(30_000, { message: TIMEOUT_RANGE })
  AMAZON_TIMEOUT_MS?: number;

  @IsOptional()
  @trimmed()
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  CONSOLE_URL?: string;

  @IsOptional()
  @trimmed()
  @IsString()
  @MinLength(12, { message: 'must be at least 12 characters' })
  ADMIN_PASSWORD?: string;

  @IsOptional()
  @trimmed()
  @IsString()
  SERVICE_API_KEYS?: string;

  @IsOptional()
  @integer()
  @IsInt({ message: IDLE_RANGE })
  @Min(1, { message: IDLE_RANGE })
  @Max(720, { message: IDLE_RANGE })
  SESSION_IDLE_MINUTES?: number;

  @IsOptional()
  @trimmed()
  @IsString()
  METRICS_TOKEN?: string;

  @IsOptional()
  @trimmed()
  @IsString()
  REFRESH_CRON?: string;

  @IsOptional()
  @integer()
  @IsInt({ message: WINDOW_RANGE })
  @Min(30, { message: WINDOW_RANGE })
  @Max(MAX_REFRESH_WINDOW_SECONDS, { message: WINDOW_RANGE })
  REFRESH_WINDOW_SECONDS?: number;

  @IsOptional()
  @integer()
  @IsInt({ message: RETRIES_RANGE })
  @Min(0, { message: RETRIES_RANGE })
  @Max(10, { message: RETRIES_RANGE })
  REFRESH_MAX_RETRIES?: number;

  @IsOptional()
  @integer()
  @IsInt({ message: CONCURRENCY_RANGE })
  @Min(1, { message: CONCURRENCY_RANGE })
  @Max(MAX_REFRESH_CONCURRENCY, { message: CONCURRENCY_RANGE })
  REFRESH_CONCURRENCY?: number;

  @IsOptional()
  @integer()
  @IsInt({ message: RATE_RANGE })
  @Min(1, { message: RATE_RANGE })
  @Max(MAX_REFRESH_MAX_PER_SECOND, { message: RATE_RANGE })
  REFRESH_MAX_PER_SECOND?: number;

  @IsOptional()
  @integer()
  @IsInt({ message: RETENTION_RANGE })
  @Min(0, { message: RETENTION_RANGE })
  @Max(3650, { message: RETENTION_RANGE })
  AUDIT_RETENTION_DAYS?: number;

  @IsOptional()
  @trimmed()
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  ALERT_WEBHOOK_URL?: string;

  @IsOptional()
  @trimmed()
  @IsString()
  ALERT_WEBHOOK_SECRET?: string;

  @IsOptional()
  @trimmed()
  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL?: LogLevel;

  @IsOptional()
  @trimmed()
  @IsString()
  TRUST_PROXY?: string;
}

/** The API's configuration, parsed and checked once at start. Nothing else reads the environment. */
export interface AppConfig {
  nodeEnv: NodeEnv;
  isProduction: boolean;
  port: number;
  host: string;
  /** `undefined`: start the embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | undefined;
  migrateOnStart: boolean;
  /** Absolute path of the folder for development state (embedded database, generated secrets). */
  dataDir: string;
  /**
   * Fernet keys from `FERNET_KEYS`, primary first, each checked to be a valid key. Empty: the
   * Crypto module uses (or creates) `<dataDir>/fernet.keys`; never empty in production.
   */
  fernetKeys: string[];
  amazon: {
    /** True when the LWA sandbox stands in for Amazon (no `AMAZON_CLIENT_ID`). */
    usingSandbox: boolean;
    clientId: string;
    clientSecret: string;
    redirectUri: string;
    /** One HTTP request to Amazon, in milliseconds. */
    timeoutMs: number;
    authorizeUrlOverride: string | undefined;
    tokenUrlOverride: string | undefined;
    adsApiUrlOverride: string | undefined;
  };
  consoleUrl: string;
  /** `undefined`: generated once into the data folder (development only). */
  adminPassword: string | undefined;
  serviceApiKeys: string[];
  /** An admin session ends after this long without a request (besides its absolute 12 h). */
  sessionIdleMs: number;
  /** `undefined`: `/metrics` is public; set: it needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  refresh: {
    cron: string;
    windowSeconds: number;
    maxRetries: number;
    /** Refreshes in flight at once in a sweep, per replica. */
    concurrency: number;
    /** Token requests to Amazon a second, per replica: the sweep's and the jobs' together. */
    maxPerSecond: number;
  };
  /**
   * Audit events older than this many days are deleted in the background (AuditPruner);
   * `0` keeps every event.
   */
  auditRetentionDays: number;
  alerts: { webhookUrl: string; secret: string } | undefined;
  logLevel: LogLevel;
  /**
   * Whose `X-Forwarded-For` (and `-Proto`, `-Host`) is believed, as Fastify's `trustProxy`
   * takes it: `false` (the peer is the client), a hop count, or proxy addresses and CIDR ranges.
   */
  trustProxy: false | number | string[];
}

/** Thrown with one line per bad variable; `main.ts` prints it and exits without a stack trace. */
export class InvalidConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid environment variables:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = InvalidConfigError.name;
  }
}

export const SANDBOX_CLIENT_ID = 'amzn1.application-oa2-client.sandbox';
export const SANDBOX_CLIENT_SECRET = 'sandbox-client-secret';
const DEFAULT_REDIRECT_URI =
  'http://localhost:3000/api/v1/auth/amazon/callback';
const DEFAULT_SANDBOX_URL = 'http://localhost:4010';

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map(
      (message) => `${error.property} ${message}`,
    ),
  );
}

function commaList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** One line per bad key, naming its position and never its value. */
function fernetKeyProblems(keys: string[]): string[] {
  const seen = new Map<string, number>();
  return keys.flatMap((key, index) => {
    let keyId: string;
    try {
      keyId = keyIdOf(key);
    } catch {
      return [
        `FERNET_KEYS key #${index + 1} is not a valid Fernet key (32 bytes, url-safe base64)`,
      ];
    }
    const first = seen.get(keyId);
    if (first !== undefined)
      return [`FERNET_KEYS key #${index + 1} repeats key #${first}`];
    seen.set(keyId, index + 1);
    return [];
  });
}

const MAX_PROXY_HOPS = 10;
/** Ranges proxy-addr (inside Fastify) knows by name. */
const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const TRUST_PROXY_FORMS =
  `must be off, a hop count from 1 to ${MAX_PROXY_HOPS}, or a comma-separated list of proxy addresses and CIDR ranges ` +
  '(or loopback, linklocal, uniquelocal)';

function isProxyRange(item: string): boolean {
  if (NAMED_PROXY_RANGES.has(item)) return true;
  const [address, prefix, extra] = item.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return (
    /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
  );
}

/** `TRUST_PROXY`: off by default, since believing X-Forwarded-For from anyone lets a client pick its address. */
function parseTrustProxy(
  value: string | undefined,
  problems: string[],
): AppConfig['trustProxy'] {
  const text = (value ?? '').toLowerCase();
  if (['', 'off', 'false', 'no', '0'].includes(text)) return false;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > MAX_PROXY_HOPS)
      problems.push(`TRUST_PROXY ${TRUST_PROXY_FORMS}`);
    return hops;
  }
  if (text === 'true' || text === 'on' || text === 'yes') {
    problems.push(
      'TRUST_PROXY=true would believe X-Forwarded-For from any client: give the number of proxies in front of the API (1 for one) or their addresses',
    );
    return false;
  }
  const items = commaList(value);
  const bad = items.filter((item) => !isProxyRange(item));
  if (bad.length > 0)
    problems.push(
      `TRUST_PROXY ${TRUST_PROXY_FORMS}; not understood: ${bad.join(', ')}`,
    );
  return items;
}

/**
 * Checks and parses the environment. Throws {@link InvalidConfigError} listing every problem,
 * never a secret's value.
 */
export function loadAppConfig(
  environment: Record<string, string | undefined>,
  cwd = process.cwd(),
): AppConfig {
  const env = plainToInstance(EnvironmentVariables, environment, {
    excludeExtraneousValues: false,
  });
  const problems = describe(
    validateSync(env, { skipMissingProperties: false, stopAtFirstError: true }),
  );

  const nodeEnv = env.NODE_ENV ?? 'development';
  const isProduction = nodeEnv === 'production';
  const refreshCron = env.REFRESH_CRON ?? '0 * * * * *';
  if (!validateCronExpression(refreshCron).valid) {
    problems.push(
      'REFRESH_CRON must be a cron expression such as "0 * * * * *" (every minute)',
    );
  }
  if (Boolean(env.AMAZON_CLIENT_ID) !== Boolean(env.AMAZON_CLIENT_SECRET)) {
    problems.push(
      'AMAZON_CLIENT_ID and AMAZON_CLIENT_SECRET must be set together',
    );
  }
  if (env.ALERT_WEBHOOK_URL && !env.ALERT_WEBHOOK_SECRET) {
    problems.push(
      'ALERT_WEBHOOK_SECRET must be set when ALERT_WEBHOOK_URL is set',
    );
  }
  const refreshConcurrency =
    env.REFRESH_CONCURRENCY ?? DEFAULT_REFRESH_CONCURRENCY;
  const refreshMaxPerSecond =
    env.REFRESH_MAX_PER_SECOND ?? DEFAULT_REFRESH_MAX_PER_SECOND;
  const rateProblems = problems.some((problem) =>
    /^REFRESH_(CONCURRENCY|MAX_PER_SECOND) /.test(problem),
  );
  if (
    !rateProblems &&
    refreshConcurrency > refreshMaxPerSecond * MAX_RATE_WAIT_SECONDS
  ) {
    problems.push(
      `REFRESH_CONCURRENCY (${refreshConcurrency}) must be at most ${MAX_RATE_WAIT_SECONDS} times REFRESH_MAX_PER_SECOND (${refreshMaxPerSecond}): ` +
        `more refreshes in flight than the cap lets through in ${MAX_RATE_WAIT_SECONDS} s would wait out their 30 s attempt`,
    );
  }
  const fernetKeys = commaList(env.FERNET_KEYS);
  problems.push(...fernetKeyProblems(fernetKeys));
  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems);
  const serviceApiKeys = commaList(env.SERVICE_API_KEYS);
  serviceApiKeys.forEach((key, index) => {
    if (key.length < 24)
      problems.push(
        `SERVICE_API_KEYS key #${index + 1} must be at least 24 characters`,
      );
  });
  if (env.METRICS_TOKEN !== undefined && env.METRICS_TOKEN.length < 24) {
    problems.push('METRICS_TOKEN must be at least 24 characters');
  }
  if (isProduction) {
    if (fernetKeys.length === 0)
      problems.push('FERNET_KEYS is required when NODE_ENV=production');
    if (!env.ADMIN_PASSWORD)
      problems.push('ADMIN_PASSWORD is required when NODE_ENV=production');
    if (!env.AMAZON_CLIENT_ID) {
      problems.push(
        'AMAZON_CLIENT_ID is required when NODE_ENV=production (the LWA sandbox is for development)',
      );
    }
  }
  if (problems.length > 0) throw new InvalidConfigError(problems);

  const usingSandbox = !env.AMAZON_CLIENT_ID;
  const sandboxUrl = (env.SANDBOX_URL ?? DEFAULT_SANDBOX_URL).replace(
    /\/+$/,
    '',
  );
  return {
    nodeEnv,
    isProduction,
    port: env.PORT ?? 3000,
    host: env.HOST ?? '0.0.0.0',
    databaseUrl: env.DATABASE_URL,
    migrateOnStart: env.DB_MIGRATE !== 'false',
    dataDir: resolve(cwd, env.DATA_DIR ?? '.data'),
    fernetKeys,
    amazon: {
      usingSandbox,
      clientId: env.AMAZON_CLIENT_ID ?? SANDBOX_CLIENT_ID,
      clientSecret: env.AMAZON_CLIENT_SECRET ?? SANDBOX_CLIENT_SECRET,
      redirectUri: env.AMAZON_REDIRECT_URI ?? DEFAULT_REDIRECT_URI,
      timeoutMs: env.AMAZON_TIMEOUT_MS ?? 10_000,
      authorizeUrlOverride:
        env.AMAZON_AUTHORIZE_URL ??
        (usingSandbox ? `${sandboxUrl}/ap/oa` : undefined),
      tokenUrlOverride:
        env.AMAZON_TOKEN_URL ??
        (usingSandbox ? `${sandboxUrl}/auth/o2/token` : undefined),
      adsApiUrlOverride:
        env.AMAZON_ADS_API_URL ?? (usingSandbox ? sandboxUrl : undefined),
    },
    consoleUrl: (env.CONSOLE_URL ?? 'http://localhost:4200').replace(
      /\/+$/,
      '',
    ),
    adminPassword: env.ADMIN_PASSWORD,
    serviceApiKeys,
    sessionIdleMs: (env.SESSION_IDLE_MINUTES ?? 30) * 60_000,
    metricsToken: env.METRICS_TOKEN,
    refresh: {
      cron: refreshCron,
      windowSeconds: env.REFRESH_WINDOW_SECONDS ?? 300,
      maxRetries: env.REFRESH_MAX_RETRIES ?? 5,
      concurrency: refreshConcurrency,
      maxPerSecond: refreshMaxPerSecond,
    },
    auditRetentionDays: env.AUDIT_RETENTION_DAYS ?? 90,
    alerts: env.ALERT_WEBHOOK_URL
      ? {
          webhookUrl: env.ALERT_WEBHOOK_URL,
          secret: env.ALERT_WEBHOOK_SECRET ?? '',
        }
      : undefined,
    logLevel: env.LOG_LEVEL ?? 'info',
    trustProxy,
  };
}

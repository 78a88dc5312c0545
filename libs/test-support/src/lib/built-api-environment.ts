import { join } from 'node:path';

/**
 * Every variable the API reads (the README's Configuration and `.env.example`). A built API started by the
 * fault suite or the bench gets none of the parent's values for them, only what it is given.
 */
export const API_VARIABLES = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'DATABASE_URL',
  'DB_MIGRATE',
  'DATA_DIR',
  'FERNET_KEYS',
  'AMAZON_CLIENT_ID',
  'AMAZON_CLIENT_SECRET',
  'AMAZON_REDIRECT_URI',
  'AMAZON_AUTHORIZE_URL',
  'AMAZON_TOKEN_URL',
  'AMAZON_ADS_API_URL',
  'AMAZON_TIMEOUT_MS',
  'SANDBOX_URL',
  'CONSOLE_URL',
  'ADMIN_PASSWORD',
  'SERVICE_API_KEYS',
  'REFRESH_CRON',
  'REFRESH_WINDOW_SECONDS',
  'REFRESH_MAX_RETRIES',
  'ALERT_WEBHOOK_URL',
  'ALERT_WEBHOOK_SECRET',
  'LOG_LEVEL',
  'TRUST_PROXY',
  'METRICS_TOKEN',
  'SESSION_IDLE_MINUTES',
  'NODE_OPTIONS',
] as const;

export interface BuiltApiSettings {
  port: number;
  /** The process's working folder; its embedded data (if any) goes under `<cwd>/.data`. */
  cwd: string;
  databaseUrl: string;
  sandbox: { url: string; clientId: string; clientSecret: string };
  fernetKeys: string;
  adminPassword: string;
  serviceKey: string;
  refreshCron: string;
  logLevel?: string;
}

/**
 * The environment of `node dist/apps/api/main.js` run against the sandbox in production mode:
 * the parent's environment minus {@link API_VARIABLES}, then the settings, then `overrides`.
 */
export function builtApiEnvironment(
  settings: BuiltApiSettings,
  overrides: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of API_VARIABLES) delete env[name];
  return Object.assign(env, {
    NODE_ENV: 'production',
    PORT: String(settings.port),
    HOST: '127.0.0.1',
    DATABASE_URL: settings.databaseUrl,
    DATA_DIR: join(settings.cwd, '.data'),
    FERNET_KEYS: settings.fernetKeys,
    ADMIN_PASSWORD: settings.adminPassword,
    SERVICE_API_KEYS: settings.serviceKey,
    AMAZON_CLIENT_ID: settings.sandbox.clientId,
    AMAZON_CLIENT_SECRET: settings.sandbox.clientSecret,
    AMAZON_AUTHORIZE_URL: `${settings.sandbox.url}/ap/oa`,
    AMAZON_TOKEN_URL: `${settings.sandbox.url}/auth/o2/token`,
    AMAZON_ADS_API_URL: settings.sandbox.url,
    AMAZON_REDIRECT_URI: `http://127.0.0.1:${settings.port}/api/v1/auth/amazon/callback`,
    CONSOLE_URL: 'http://127.0.0.1:4200',
    REFRESH_CRON: settings.refreshCron,
    LOG_LEVEL: settings.logLevel ?? 'warn',
    ...overrides,
  });
}

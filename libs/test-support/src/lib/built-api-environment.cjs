// @ts-check
// Plain CommonJS with JSDoc types, not TypeScript: the e2e journey (.mjs, run by node as it is)
// imports this file too, and Jest (the fault suite) cannot load an ES module from its tests.
'use strict';
const { join } = require('node:path');

/**
 * Every variable the API reads (the README's Configuration and `.env.example`). A built API started by a
 * harness gets none of the parent's values for them, only what it is given.
 */
const API_VARIABLES = /** @type {const} */ ([
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
  'REFRESH_CONCURRENCY',
  'REFRESH_MAX_PER_SECOND',
  'ALERT_WEBHOOK_URL',
  'ALERT_WEBHOOK_SECRET',
  'LOG_LEVEL',
  'TRUST_PROXY',
  'METRICS_TOKEN',
  'SESSION_IDLE_MINUTES',
  'AUDIT_RETENTION_DAYS',
  'NODE_OPTIONS',
]);

/**
 * libpq's variables (`PGHOST`, `PGPASSWORD`, `PGSSLMODE`…): node-postgres falls back to them
 * for whatever `DATABASE_URL` leaves out, so a value in the caller's shell would reach the API.
 */
const LIBPQ_VARIABLE = /^PG[A-Z]+$/;

/**
 * The parent's environment without {@link API_VARIABLES} and libpq's variables: what a built
 * process started by a harness inherits before it is given its own settings.
 * @returns {NodeJS.ProcessEnv}
 */
function parentEnvironment() {
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env };
  for (const name of API_VARIABLES) delete env[name];
  for (const name of Object.keys(env)) {
    if (LIBPQ_VARIABLE.test(name)) delete env[name];
  }
  return env;
}

/**
 * @typedef {object} BuiltApiSettings
 * @property {number} port
 * @property {string} cwd The process's working folder; its embedded data (if any) goes under `<cwd>/.data`.
 * @property {string} [databaseUrl] Unset: the API's embedded PostgreSQL, under `<cwd>/.data`.
 * @property {{ url: string, clientId: string, clientSecret: string }} sandbox
 * @property {string} fernetKeys
 * @property {string} adminPassword
 * @property {string} serviceKey
 * @property {string} refreshCron
 * @property {string} [logLevel] `warn` unless given.
 * @property {string} [consoleUrl] The console's origin. Unset: `http://127.0.0.1:4200` and the
 *   consent callback straight to the API; set: the callback goes through the console's origin,
 *   as behind the nginx of the README's deployment (which passes `/api/` to the API).
 */

/**
 * The environment of `node dist/apps/api/main.js` run against the sandbox in production mode:
 * {@link parentEnvironment}, then the settings, then `overrides`.
 * @param {BuiltApiSettings} settings
 * @param {Record<string, string>} [overrides]
 * @returns {NodeJS.ProcessEnv}
 */
function builtApiEnvironment(settings, overrides = {}) {
  const apiUrl = `http://127.0.0.1:${settings.port}`;
  return Object.assign(parentEnvironment(), {
    NODE_ENV: 'production',
    PORT: String(settings.port),
    HOST: '127.0.0.1',
    ...(settings.databaseUrl === undefined
      ? {}
      : { DATABASE_URL: settings.databaseUrl }),
    DATA_DIR: join(settings.cwd, '.data'),
    FERNET_KEYS: settings.fernetKeys,
    ADMIN_PASSWORD: settings.adminPassword,
    SERVICE_API_KEYS: settings.serviceKey,
    AMAZON_CLIENT_ID: settings.sandbox.clientId,
    AMAZON_CLIENT_SECRET: settings.sandbox.clientSecret,
    AMAZON_AUTHORIZE_URL: `${settings.sandbox.url}/ap/oa`,
    AMAZON_TOKEN_URL: `${settings.sandbox.url}/auth/o2/token`,
    AMAZON_ADS_API_URL: settings.sandbox.url,
    AMAZON_REDIRECT_URI: `${settings.consoleUrl ?? apiUrl}/api/v1/auth/amazon/callback`,
    CONSOLE_URL: settings.consoleUrl ?? 'http://127.0.0.1:4200',
    REFRESH_CRON: settings.refreshCron,
    LOG_LEVEL: settings.logLevel ?? 'warn',
    ...overrides,
  });
}

module.exports = {
  API_VARIABLES,
  parentEnvironment,
  builtApiEnvironment,
};

// The system under test, as production runs it: the built LWA sandbox standing in for Amazon,
// the built API (NODE_ENV=production, its embedded PostgreSQL in a temp folder) and the
// console's production build behind a proxy that mirrors the nginx configuration.
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  builtApiEnvironment,
  parentEnvironment,
} from '../../../libs/test-support/src/lib/built-api-environment.cjs';
import { freePort } from '../../../libs/test-support/src/lib/free-port.cjs';
import { startConsoleServer } from './console-server.mjs';
import { startNode, waitForHttp } from './processes.mjs';

export const ADMIN_PASSWORD = 'e2e-admin-password-0123';
const CLIENT_ID = 'amzn1.application-oa2-client.e2e';

/**
 * The sandbox's environment before its settings: none of the sandbox's variables (its README's
 * table) may leak in from the caller's shell, nor the API's or libpq's.
 */
function sandboxParentEnvironment() {
  return Object.fromEntries(
    Object.entries(parentEnvironment()).filter(
      ([name]) => !name.startsWith('SANDBOX_'),
    ),
  );
}

/** A Fernet key: 32 random bytes, url-safe base64 with its padding. */
function fernetKey() {
  return `${randomBytes(32).toString('base64url')}=`;
}

/**
 * Starts everything; every started part is handed to `track` at once, so a failure half-way
 * still stops what did start.
 */
export async function startStack({ root, workDir, logDir, track }) {
  const consoleServer = await startConsoleServer({
    root: join(root, 'dist/apps/console/browser'),
    onProxyError: (line) =>
      appendFileSync(
        join(logDir, 'console-server.log'),
        `proxy error: ${line}\n`,
      ),
  });
  track('console server', () => consoleServer.close());
  // The console on `localhost` and "Amazon" on `127.0.0.1`: two different sites, as in
  // production, so the consent round trip crosses sites (SameSite cookies matter).
  const webUrl = `http://localhost:${consoleServer.port}`;

  const sandboxPort = await freePort();
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const sandbox = startNode('LWA sandbox', {
    script: join(root, 'dist/apps/lwa-sandbox/main.js'),
    cwd: workDir,
    logFile: join(logDir, 'sandbox.log'),
    env: {
      ...sandboxParentEnvironment(),
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_CLIENT_ID: CLIENT_ID,
      SANDBOX_CLIENT_SECRET: clientSecret,
      SANDBOX_EXPIRES_IN: '3600',
      SANDBOX_ROTATE_REFRESH_TOKENS: 'false',
      SANDBOX_AUTO_CONSENT: 'off',
    },
  });
  track('LWA sandbox', () => sandbox.stop());

  const apiPort = await freePort();
  await mkdir(join(workDir, '.data'), { recursive: true });
  const api = startNode('API', {
    script: join(root, 'dist/apps/api/main.js'),
    cwd: workDir,
    logFile: join(logDir, 'api.log'),
    env: builtApiEnvironment({
      port: apiPort,
      cwd: workDir,
      // No databaseUrl: the API's own embedded PostgreSQL, in the temp folder.
      sandbox: { url: sandboxUrl, clientId: CLIENT_ID, clientSecret },
      fernetKeys: fernetKey(),
      adminPassword: ADMIN_PASSWORD,
      serviceKey: randomBytes(24).toString('base64url'),
      // 1 January: the test decides when tokens refresh, not the sweep.
      refreshCron: '0 0 0 1 1 *',
      logLevel: 'info',
      // The consent round trip comes back through the console server, as through nginx.
      consoleUrl: webUrl,
    }),
  });
  track('API', () => api.stop());
  consoleServer.setApiPort(apiPort);

  await waitForHttp(`${sandboxUrl}/__sandbox/health`, {
    child: sandbox,
    timeoutMs: 30_000,
  });
  // Through the console server: the proxy works too once this answers.
  await waitForHttp(`${webUrl}/health/ready`, {
    child: api,
    timeoutMs: 120_000,
  });

  return {
    webUrl,
    sandboxUrl,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    sandbox: sandboxControl(sandboxUrl),
    processes: { api, sandbox },
  };
}

/** The sandbox's control API (`/__sandbox/`, see libs/lwa-sandbox/README.md). */
function sandboxControl(sandboxUrl) {
  const call = async (method, path, body) => {
    const response = await fetch(`${sandboxUrl}/__sandbox${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok)
      throw new Error(`sandbox ${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    queueFault: (fault) => call('POST', '/faults', fault),
    faults: () => call('GET', '/faults').then((answer) => answer.faults),
    requests: (endpoint) =>
      call(
        'GET',
        `/requests?endpoint=${encodeURIComponent(endpoint)}&limit=200`,
      ).then((answer) => answer.requests),
  };
}

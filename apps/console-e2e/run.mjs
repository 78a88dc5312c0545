#!/usr/bin/env node
// `npm run e2e`: the console's production build, the API and the LWA sandbox in headless
// Chromium (playwright-core and the system's `chromium`). See README.md next to this file.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeAudit } from './lib/axe.mjs';
import { DESKTOP, runJourney } from './lib/journey.mjs';
import { ACTION_TIMEOUT_MS } from './lib/page-helpers.mjs';
import { startStack } from './lib/stack.mjs';
import { StepRunner } from './lib/steps.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const outDir = join(root, 'test-output/e2e');
const logDir = join(outDir, 'logs');
const BUILD_TIMEOUT_MS = 15 * 60_000;
/** Everything after the build: starting the stack, the journey, stopping. */
const RUN_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_SECONDS || 240) * 1000;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const say = (line) => process.stdout.write(`${line}\n`);
const startedAt = Date.now();
const seconds = () => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`;

// What to stop at the end, newest first; every entry runs once, also on Ctrl-C or a timeout.
const resources = [];
const track = (name, stop) => resources.push({ name, stop });
let cleaning;
function cleanUp() {
  cleaning ??= (async () => {
    for (const { name, stop } of resources.reverse()) {
      try {
        await stop();
      } catch (error) {
        say(`  (stopping ${name} failed: ${error.message})`);
      }
    }
  })();
  return cleaning;
}

const steps = new StepRunner({ out: say });
const axe = new AxeAudit();
const pageErrors = [];
const consoleLines = [];
let finished = false;
async function finish(code) {
  if (finished) return;
  finished = true;
  steps.close();
  await cleanUp();
  await writeFile(
    join(outDir, 'axe.json'),
    `${JSON.stringify(axe, null, 2)}\n`,
  ).catch(() => undefined);
  await writeFile(
    join(outDir, 'browser-console.log'),
    `${consoleLines.join('\n')}\n`,
  ).catch(() => undefined);
  say(`\nScreenshots, logs and axe.json: ${outDir} (${seconds()})`);
  say(steps.summary());
  process.exit(code ?? (steps.failed > 0 ? 1 : 0));
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    say(`\n${signal} received: stopping`);
    steps.fail(`the run was interrupted (${signal})`, 'stopped before the end');
    void finish(130);
  });
}

/** `npx nx run-many -t build`: quiet unless it fails. */
async function build() {
  const child = spawn(
    'npx',
    [
      'nx',
      'run-many',
      '-t',
      'build',
      '-p',
      'api',
      'console',
      'lwa-sandbox',
      '--output-style=static',
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        NX_TUI: 'false',
        NX_NO_CLOUD: 'true',
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  track('the build', async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGTERM'), BUILD_TIMEOUT_MS);
  const code = await new Promise((done) =>
    child.on('close', (status) => done(status ?? 1)),
  );
  clearTimeout(timer);
  return { ok: code === 0, output };
}

async function main() {
  say(
    'End-to-end: the console in headless Chromium against the API and the LWA sandbox',
  );
  await rm(outDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });

  const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) {
    steps.fail(
      'find Chromium',
      `not found at ${chromiumPath}: install it with: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
    return finish(1);
  }

  say('Building api, console and lwa-sandbox…');
  const built = await build();
  if (!built.ok) {
    say(built.output.trimEnd());
    steps.fail(
      'build api, console and lwa-sandbox',
      'nx run-many -t build failed (output above)',
    );
    return finish(1);
  }
  say(`Built (${seconds()}).`);

  const deadline = setTimeout(() => {
    say(
      `\nThe run took longer than ${RUN_TIMEOUT_MS / 1000} s (E2E_TIMEOUT_SECONDS): stopping`,
    );
    steps.fail(
      `the run finished within ${RUN_TIMEOUT_MS / 1000} s`,
      'timed out',
    );
    void finish(1);
  }, RUN_TIMEOUT_MS);
  deadline.unref();

  const workDir = await mkdtemp(join(tmpdir(), 'atk-e2e-'));
  // mkdtemp makes it 0700; as root, the embedded PostgreSQL runs as its own user, which
  // must be able to reach its data folder inside.
  await chmod(workDir, 0o755);
  track('the temp folder', () =>
    rm(workDir, { recursive: true, force: true, maxRetries: 3 }),
  );

  let stack;
  // Until the browser runs, a failure's whole message helps most (the API's last log lines).
  steps.onFailure = (_name, error) =>
    say(String(error?.message ?? error).replace(/^/gm, '    '));
  const stackStarted = await steps.step(
    'start the LWA sandbox, the API and the console server',
    async () => {
      stack = await startStack({ root, workDir, logDir, track });
      return `console ${stack.webUrl}, sandbox ${stack.sandboxUrl}, API ${stack.apiUrl}`;
    },
  );

  if (stackStarted) {
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: CHROMIUM_ARGS,
      // Playwright's own handlers would exit at once on Ctrl-C; ours stop everything first.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    track('Chromium', () => browser.close());
    const context = await browser.newContext({
      viewport: DESKTOP,
      locale: 'en-GB',
      timezoneId: 'UTC',
      colorScheme: 'light',
    });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(30_000);
    const page = await context.newPage();
    page.on('console', (message) =>
      consoleLines.push(`[${message.type()}] ${message.text()}`),
    );
    page.on('pageerror', (error) => {
      pageErrors.push(error.message);
      consoleLines.push(`[pageerror] ${error.stack ?? error.message}`);
    });
    page.on('requestfailed', (request) => {
      // Closing an SSE stream on navigation is expected; anything else is worth a look.
      consoleLines.push(
        `[requestfailed] ${request.method()} ${request.url()}: ${request.failure()?.errorText}`,
      );
    });
    steps.onFailure = async (name) => {
      const file = `failure-${name
        .replace(/[^a-z0-9]+/gi, '-')
        .toLowerCase()
        .slice(0, 60)}.png`;
      await page
        .screenshot({ path: join(outDir, file), fullPage: true })
        .catch(() => undefined);
      say(`    screenshot: test-output/e2e/${file}`);
    };

    await runJourney({ page, steps, axe, stack, outDir, pageErrors, log: say });
  }

  clearTimeout(deadline);
  return finish();
}

main().catch((error) => {
  steps.fail('the end-to-end runner', error?.stack ?? String(error));
  void finish(1);
});

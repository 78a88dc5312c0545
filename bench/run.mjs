#!/usr/bin/env node
/**
 * `npm run bench [-- --quick | --profile | --hostile-json | --scale | --skip-build]`
 *
 * 1. builds the API (`nx build api`, quiet unless it fails) and snapshots dist/apps/api/main.js
 *    into dist/bench/api/ (others may rebuild dist/apps/api while the bench runs);
 * 2. bundles the bench's TypeScript with esbuild (tsconfig `paths` such as @keeper/fernet and
 *    @keeper/lwa-sandbox resolved, npm packages left external; no Nest code is bundled: the API
 *    always runs as the webpack-built child process);
 * 3. runs it (dist/bench/main.mjs) in a process group of its own, so Ctrl-C reaches it once and
 *    it stops what it started in order: API processes, then the database, then the temp folder.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'bench');
const args = process.argv.slice(2);
const BUILD_TIMEOUT_MS = 300_000;

let current;
let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    signals += 1;
    if (!current) process.exit(130);
    if (current.group) {
      // The build runs in its own group: end all of it.
      try {
        process.kill(-current.child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    } else {
      // The bench cleans up on the first signal and exits at once on the second.
      current.child.kill(signals > 1 ? 'SIGKILL' : signal);
    }
  });
}

function step(message) {
  process.stderr.write(`bench: ${message}\n`);
}

/** Runs a command quietly; answers its exit code and output. */
function quietly(command, commandArgs, env, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    current = { child, group: true };
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n(timed out after ${timeoutMs / 1000} s)`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code: code ?? (signal ? 1 : 0), output });
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      current = undefined;
      resolve({ code: 1, output: `${output}\n${error.message}` });
    });
  });
}

async function buildApi() {
  const began = Date.now();
  step('building the API (nx build api)…');
  const env = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
  };
  const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const { code, output } = await quietly(
    npx,
    ['nx', 'build', 'api', '--output-style=static'],
    env,
    BUILD_TIMEOUT_MS,
  );
  if (signals > 0) process.exit(130);
  if (code !== 0) {
    process.stderr.write(
      `${output}\nbench: nx build api failed (exit ${code})\n`,
    );
    process.exit(1);
  }
  step(`API built in ${Math.round((Date.now() - began) / 1000)} s`);
}

async function snapshotApi() {
  const target = join(outDir, 'api');
  await mkdir(target, { recursive: true });
  for (const file of ['main.js', 'main.js.map']) {
    await copyFile(join(root, 'dist', 'apps', 'api', file), join(target, file));
  }
  return join(target, 'main.js');
}

async function bundleBench() {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: root,
    entryPoints: {
      main: 'bench/src/main.ts',
      'hostile-json': 'bench/src/hostile-json-main.ts',
      scale: 'bench/src/scale-main.ts',
      'fernet-child': 'bench/src/children/fernet-child.ts',
      'bare-server': 'bench/src/children/bare-server.ts',
      'sandbox-server': 'bench/src/children/sandbox-server.ts',
      'bare-proxy': 'bench/src/children/bare-proxy.ts',
    },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    tsconfig: 'bench/tsconfig.json',
    // @keeper/test-support is CommonJS (it `require`s node:net and friends); an ES module bundle
    // has no `require` of its own, so esbuild's shim would throw "Dynamic require … not supported".
    banner: {
      js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);",
    },
    sourcemap: true,
    logLevel: 'warning',
  });
}

async function main() {
  if (!args.includes('--skip-build')) await buildApi();
  const apiMain = await snapshotApi().catch((error) => {
    process.stderr.write(
      `bench: no built API in dist/apps/api (${error.message}); run without --skip-build\n`,
    );
    process.exit(1);
  });
  await bundleBench();
  const child = spawn(
    process.execPath,
    [
      '--enable-source-maps',
      join(
        outDir,
        args.includes('--hostile-json')
          ? 'hostile-json.mjs'
          : args.includes('--scale')
            ? 'scale.mjs'
            : 'main.mjs',
      ),
      ...args.filter(
        (arg) =>
          arg !== '--skip-build' &&
          arg !== '--hostile-json' &&
          arg !== '--scale',
      ),
    ],
    {
      cwd: root,
      env: { ...process.env, BENCH_ROOT: root, BENCH_API_MAIN: apiMain },
      stdio: 'inherit',
      detached: true,
    },
  );
  current = { child, group: false };
  const code = await new Promise((resolve) =>
    child.on('exit', (exitCode, signal) =>
      resolve(exitCode ?? (signal ? 1 : 0)),
    ),
  );
  process.exit(code);
}

main().catch((error) => {
  process.stderr.write(`bench: ${error.stack ?? error}\n`);
  process.exit(1);
});

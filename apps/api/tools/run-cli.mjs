#!/usr/bin/env node
// `npm run migrate`, `keys`, `import` and `export`: build the API (Nx caches it), then run its CLI.
// The build's output is shown only when it fails, so `keys generate` prints just the key.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const build = spawnSync(
  'npx',
  ['nx', 'build', 'api', '--output-style=static'],
  {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NX_TUI: 'false', NX_NO_CLOUD: 'true' },
  },
);
if (build.status !== 0) {
  process.stderr.write(
    `${build.stdout}${build.stderr}\nBuilding the API failed (see above).\n`,
  );
  process.exit(build.status ?? 1);
}
const cli = spawn(
  process.execPath,
  [join(root, 'dist/apps/api/cli.js'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => cli.kill(signal));
cli.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

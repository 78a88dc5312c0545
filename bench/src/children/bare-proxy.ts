/**
 * The smallest streaming proxy `node:http` allows, for the proxy phase's RSS comparison: every
 * request is sent as it came to the upstream URL given as the first argument (keep-alive
 * agent) and the answer piped back. It shows what Node itself costs in memory when a large
 * body streams through a process, beside what the keeper costs. Prints `listening <url>`.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = new URL(process.argv[2]);
const agent = new Agent({ keepAlive: true });

const server = createServer((incoming, outgoing) => {
  const forwarded = httpRequest(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: incoming.method,
      path: incoming.url,
      headers: { ...incoming.headers, host: upstream.host },
      agent,
    },
    (answer: IncomingMessage) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    },
  );
  forwarded.on('error', () => outgoing.destroy());
  incoming.pipe(forwarded);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`listening http://127.0.0.1:${port}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => process.exit(0));

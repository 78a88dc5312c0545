// The console's production build served the way nginx serves it in production
// (apps/console/nginx/default.conf.template): static files with an SPA fallback, and
// /api/ and /health* proxied to the API (never /metrics), streamed (server-sent events included).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.webmanifest': 'application/manifest+json',
};

// nginx: `location ~* \.(?:js|css|woff2?|ico|png|svg)$ { try_files $uri =404; }`
const IMMUTABLE_ASSET = /\.(?:js|css|woff2?|ico|png|svg)$/i;
// nginx: `location /api/` and `location ~ ^/health`
const PROXIED = /^\/(?:api\/|health)/;
// nginx: `location ^~ /metrics { return 404; }` (scraped on the API's own port, never here)
const NOT_SERVED = /^\/metrics/;
// Hop-by-hop headers (RFC 9110 7.6.1): never forwarded by a proxy.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

function withoutHopByHop(headers) {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
  return Object.fromEntries(
    Object.entries(headers).filter(
      ([name]) => !HOP_BY_HOP.has(name) && !named.has(name),
    ),
  );
}

async function fileAt(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const path = normalize(join(root, decoded));
  if (path !== root && !path.startsWith(root + sep)) return undefined;
  try {
    const info = await stat(path);
    if (info.isFile()) return { path, size: info.size };
    if (info.isDirectory()) {
      const index = join(path, 'index.html');
      const indexInfo = await stat(index).catch(() => undefined);
      if (indexInfo?.isFile()) return { path: index, size: indexInfo.size };
    }
  } catch {
    // not there
  }
  return undefined;
}

function sendFile(request, response, file, headers) {
  response.writeHead(200, {
    'content-type':
      CONTENT_TYPES[extname(file.path).toLowerCase()] ??
      'application/octet-stream',
    'content-length': file.size,
    ...headers,
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(file.path).pipe(response);
}

/**
 * Starts the server on 127.0.0.1 (port 0: any free one). `apiPort` may be set later with
 * `setApiPort`, since the API needs this server's port in its own configuration.
 * @param {{ root: string, port?: number, onProxyError?: (message: string) => void }} options
 */
export async function startConsoleServer({
  root,
  port = 0,
  onProxyError = () => undefined,
}) {
  const agent = new http.Agent({ keepAlive: true });
  let apiPort;

  const proxy = (request, response) => {
    if (!apiPort) {
      response
        .writeHead(502, { 'content-type': 'text/plain' })
        .end('API not started yet');
      return;
    }
    const headers = withoutHopByHop(request.headers);
    const forwardedFor = request.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = [forwardedFor, request.socket.remoteAddress]
      .filter(Boolean)
      .join(', ');
    headers['x-forwarded-proto'] = 'http';
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: apiPort,
        method: request.method,
        path: request.url,
        headers,
        agent,
      },
      (answer) => {
        response.writeHead(
          answer.statusCode ?? 502,
          answer.statusMessage,
          withoutHopByHop(answer.headers),
        );
        // Server-sent events: every chunk goes out as it arrives (nginx: proxy_buffering off).
        response.flushHeaders();
        answer.pipe(response);
        answer.on('error', () => response.destroy());
      },
    );
    upstream.on('error', (error) => {
      onProxyError(`${request.method} ${request.url}: ${error.message}`);
      if (!response.headersSent) {
        response
          .writeHead(502, { 'content-type': 'text/plain' })
          .end('Bad gateway');
      } else {
        response.destroy();
      }
    });
    // The browser went away (an SSE stream closed by the page, say): end the upstream request too.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  };

  const server = http.createServer(async (request, response) => {
    const urlPath = (request.url ?? '/').split('?')[0];
    if (NOT_SERVED.test(urlPath)) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('Not found');
      return;
    }
    if (PROXIED.test(urlPath)) {
      proxy(request, response);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const file = await fileAt(root, urlPath);
    if (IMMUTABLE_ASSET.test(urlPath)) {
      if (!file) {
        response
          .writeHead(404, { 'content-type': 'text/plain' })
          .end('Not found');
        return;
      }
      sendFile(request, response, file, {
        'cache-control': 'public, max-age=31536000, immutable',
      });
      return;
    }
    const page = file ?? (await fileAt(root, '/index.html'));
    if (!page) {
      response
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('The console is not built');
      return;
    }
    sendFile(request, response, page, {
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  });
  // Long-lived SSE responses must not be cut by the server's own timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(undefined));
  });

  return {
    port: /** @type {import('node:net').AddressInfo} */ (server.address()).port,
    setApiPort(value) {
      apiPort = value;
    },
    async close() {
      server.closeAllConnections();
      agent.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

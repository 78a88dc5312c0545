/**
 * The baselines of phase 2, each a bare `node:http` server in a process of its own (like the
 * API, so neither shares an event loop with autocannon):
 *
 * - `health`: answers every request with `{"status":"ok"}`.
 * - `start`: what `GET /api/v1/auth/amazon/start` does, by hand: checks the signed session
 *   cookie against a session row (one SELECT), makes a 32-byte state, a PKCE pair and a browser
 *   binding, encrypts the verifier with Fernet, INSERTs one row (pg pool of 20, as the API's),
 *   answers 302 with the consent URL and the binding cookie. Its tables live in schema
 *   `bench_bare`, shaped and indexed like the API's.
 *
 * Prints `listening <port>` when ready.
 */
import { Fernet, keyIdOf } from '@keeper/fernet';
import {
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

const mode = process.argv[2];
const REGIONS = new Set(['na', 'eu', 'fe']);
const CALLBACK_PATH = '/api/v1/auth/amazon/callback';

const sha256Hex = (value: string) =>
  createHash('sha256').update(value).digest('hex');

async function startHandler(): Promise<
  (req: IncomingMessage, res: ServerResponse) => void
> {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is required in start mode`);
    return value;
  };
  const pool = new pg.Pool({
    connectionString: env('BARE_DATABASE_URL'),
    max: 20,
  });
  const fernet = new Fernet(env('BARE_FERNET_KEY'));
  const keyId = keyIdOf(env('BARE_FERNET_KEY'));
  const signingKey = env('BARE_SESSION_SECRET');
  const consentUrl = env('BARE_CONSENT_URL');
  const clientId = env('BARE_CLIENT_ID');
  const redirectUri = env('BARE_REDIRECT_URI');
  const sessionId = env('BARE_SESSION_ID');

  await pool.query(`CREATE SCHEMA IF NOT EXISTS bench_bare`);
  await pool.query(`
    CREATE TABLE IF NOT EXISTS bench_bare.admin_sessions (
      id_hash text PRIMARY KEY, expires_at timestamptz NOT NULL, last_seen_at timestamptz NOT NULL DEFAULT now())`);
  await pool.query(`
    CREATE TABLE IF NOT EXISTS bench_bare.oauth_states (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      state_hash text NOT NULL UNIQUE,
      code_verifier_ciphertext text,
      key_id text,
      region text NOT NULL CHECK (region IN ('na', 'eu', 'fe')),
      session_binding_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      consumed_at timestamptz)`);
  await pool.query(
    `CREATE INDEX IF NOT EXISTS oauth_states_expires_at_idx ON bench_bare.oauth_states (expires_at)`,
  );
  await pool.query(
    `CREATE INDEX IF NOT EXISTS oauth_states_key_id_idx ON bench_bare.oauth_states (key_id)`,
  );
  await pool.query(
    `INSERT INTO bench_bare.admin_sessions (id_hash, expires_at) VALUES ($1, now() + interval '12 hours') ON CONFLICT DO NOTHING`,
    [sha256Hex(sessionId)],
  );

  const sign = (id: string) =>
    createHmac('sha256', signingKey).update(id).digest();
  const sessionFrom = (
    cookieHeader: string | undefined,
  ): string | undefined => {
    const value = /(?:^|;\s*)atk_session=([^;]*)/.exec(cookieHeader ?? '')?.[1];
    if (!value) return undefined;
    const [id, signature, extra] = decodeURIComponent(value).split('.');
    if (!id || !signature || extra !== undefined) return undefined;
    const given = Buffer.from(signature, 'base64url');
    const expected = sign(id);
    return given.length === expected.length && timingSafeEqual(given, expected)
      ? id
      : undefined;
  };

  return (req, res) => {
    void (async () => {
      const id = sessionFrom(req.headers.cookie);
      const found = id
        ? await pool.query(
            'SELECT expires_at FROM bench_bare.admin_sessions WHERE id_hash = $1',
            [sha256Hex(id)],
          )
        : undefined;
      if (
        !found ||
        found.rowCount !== 1 ||
        (found.rows[0].expires_at as Date).getTime() <= Date.now()
      ) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"statusCode":401}');
        return;
      }
      const region =
        new URL(req.url ?? '/', 'http://bare.invalid').searchParams.get(
          'region',
        ) ?? '';
      if (!REGIONS.has(region)) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"statusCode":400}');
        return;
      }
      const state = randomBytes(32).toString('base64url');
      const verifier = randomBytes(32).toString('base64url');
      const binding = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256')
        .update(verifier)
        .digest('base64url');
      await pool.query(
        `INSERT INTO bench_bare.oauth_states (state_hash, code_verifier_ciphertext, key_id, region, session_binding_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + interval '10 minutes')`,
        [
          sha256Hex(state),
          fernet.encrypt(verifier),
          keyId,
          region,
          sha256Hex(binding),
        ],
      );
      const location = new URL(consentUrl);
      location.search = new URLSearchParams({
        client_id: clientId,
        scope: 'advertising::campaign_management',
        response_type: 'code',
        redirect_uri: redirectUri,
        state,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString();
      res
        .writeHead(302, {
          location: location.toString(),
          'set-cookie': `atk_oauth=${binding}; Max-Age=600; Path=${CALLBACK_PATH}; HttpOnly; SameSite=Lax`,
          'cache-control': 'no-store',
          'content-length': '0',
        })
        .end();
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  };
}

async function main(): Promise<void> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  if (mode === 'health') {
    const body = '{"status":"ok"}';
    handler = (_req, res) => {
      res
        .writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': body.length,
        })
        .end(body);
    };
  } else if (mode === 'start') {
    handler = await startHandler();
  } else {
    throw new Error(`unknown mode ${mode}: health or start`);
  }
  const server = createServer({ keepAliveTimeout: 72_000 }, handler);
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(
      `listening ${(server.address() as AddressInfo).port}\n`,
    );
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bare server failed: ${(error as Error).stack ?? String(error)}\n`,
  );
  process.exit(1);
});

import { Fernet, FernetKeyring, keyIdOf } from '@keeper/fernet';
import {
  fingerprint,
  RequestLogEntry,
  RunningSandbox,
} from '@keeper/lwa-sandbox';
import type { FaultDatabase } from './postgres';

/** A connection the suite inserted, with the plaintext tokens the sandbox issued for it. */
export interface SeededConnection {
  id: string;
  label: string;
  accessToken: string;
  refreshToken: string;
  /** How the sandbox's request log names its refresh token. */
  credential: string;
}

/**
 * Inserts `count` connections holding real sandbox grants (`issueTokens`, so refreshes succeed),
 * encrypted under `key` with its key id, in one INSERT; their access token expired a minute ago
 * unless `expiresInSeconds` says otherwise, so the next sweep finds them due. Refreshed 10
 * minutes ago, so they come due exactly the window before they expire (a span too short to be
 * spread, connection-rules.ts); or, with 3000 s or more left, refreshed just now, so nothing makes
 * them due within the spread's 5-minute settling time whatever their ids.
 */
export async function seedConnections(
  database: FaultDatabase,
  sandbox: RunningSandbox,
  key: string,
  count: number,
  prefix: string,
  expiresInSeconds = -60,
): Promise<SeededConnection[]> {
  const fernet = new Fernet(key);
  const labels: string[] = [];
  const access: string[] = [];
  const refresh: string[] = [];
  const plaintexts = new Map<
    string,
    { accessToken: string; refreshToken: string }
  >();
  for (let index = 0; index < count; index += 1) {
    const tokens = sandbox.issueTokens(`${prefix} account ${index}`);
    const label = `${prefix}-${String(index).padStart(3, '0')}`;
    labels.push(label);
    access.push(fernet.encrypt(tokens.access_token));
    refresh.push(fernet.encrypt(tokens.refresh_token));
    plaintexts.set(label, {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
    });
  }
  const rows = await database.query<{ id: string; label: string }>(
    `INSERT INTO connections (label, region, status, access_token_ciphertext, refresh_token_ciphertext, key_id,
                              access_token_expires_at, last_refreshed_at)
     SELECT v.label, 'na', 'active', v.access, v.refresh, $4, now() + make_interval(secs => $5),
            CASE WHEN $5 >= 3000 THEN now() ELSE now() - interval '10 minutes' END
     FROM unnest($1::text[], $2::text[], $3::text[]) AS v(label, access, refresh)
     RETURNING id, label`,
    [labels, access, refresh, keyIdOf(key), expiresInSeconds],
  );
  return rows
    .map((row) => {
      const tokens = plaintexts.get(row.label) as {
        accessToken: string;
        refreshToken: string;
      };
      return {
        id: row.id,
        label: row.label,
        ...tokens,
        credential: fingerprint(tokens.refreshToken),
      };
    })
    .sort((a, b) => a.label.localeCompare(b.label));
}

/** A connection row as stored, its tokens decrypted with `keys` (and which key opened them). */
export interface StoredConnection {
  id: string;
  label: string;
  status: string;
  keyId: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  /** Key id that opened the access token / the refresh token (null when empty). */
  accessKeyId: string | null;
  refreshKeyId: string | null;
  failureCount: number;
  lastError: string | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  nextAttemptAt: Date | null;
  lastRefreshedAt: Date | null;
  accessTokenExpiresAt: Date | null;
}

export async function readConnections(
  database: FaultDatabase,
  keys: readonly string[],
  ids: readonly string[],
): Promise<Map<string, StoredConnection>> {
  const keyring = new FernetKeyring(keys);
  const open = (ciphertext: string | null) => {
    if (ciphertext === null) return { plaintext: null, keyId: null };
    const { plaintext, keyId } = keyring.decryptWithKeyId(ciphertext);
    return { plaintext: plaintext.toString('utf8'), keyId };
  };
  const rows = await database.query<Record<string, unknown>>(
    `SELECT id, label, status, key_id, access_token_ciphertext, refresh_token_ciphertext, failure_count, last_error,
            lease_owner, lease_expires_at, next_attempt_at, last_refreshed_at, access_token_expires_at
     FROM connections WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map<string, StoredConnection>();
  for (const row of rows) {
    const access = open(row['access_token_ciphertext'] as string | null);
    const refresh = open(row['refresh_token_ciphertext'] as string | null);
    byId.set(row['id'] as string, {
      id: row['id'] as string,
      label: row['label'] as string,
      status: row['status'] as string,
      keyId: row['key_id'] as string | null,
      accessToken: access.plaintext,
      refreshToken: refresh.plaintext,
      accessKeyId: access.keyId,
      refreshKeyId: refresh.keyId,
      failureCount: row['failure_count'] as number,
      lastError: row['last_error'] as string | null,
      leaseOwner: row['lease_owner'] as string | null,
      leaseExpiresAt: row['lease_expires_at'] as Date | null,
      nextAttemptAt: row['next_attempt_at'] as Date | null,
      lastRefreshedAt: row['last_refreshed_at'] as Date | null,
      accessTokenExpiresAt: row['access_token_expires_at'] as Date | null,
    });
  }
  return byId;
}

/** Audit events per connection and type: `{ [connectionId]: { refreshed: 1, … } }`. */
export async function auditCounts(
  database: FaultDatabase,
  ids: readonly string[],
): Promise<Map<string, Record<string, number>>> {
  const rows = await database.query<{
    connection_id: string;
    type: string;
    count: number;
  }>(
    `SELECT connection_id, type, count(*)::int AS count FROM audit_events
     WHERE connection_id = ANY($1::uuid[]) GROUP BY connection_id, type`,
    [ids],
  );
  const counts = new Map<string, Record<string, number>>(
    ids.map((id) => [id, {}]),
  );
  for (const row of rows)
    (counts.get(row.connection_id) as Record<string, number>)[row.type] =
      row.count;
  return counts;
}

/** Token requests the sandbox received for each connection's refresh token, oldest first. */
export function tokenRequestsByConnection(
  sandbox: RunningSandbox,
  connections: readonly SeededConnection[],
): Map<string, RequestLogEntry[]> {
  const log = sandbox.requests({ endpoint: 'token' });
  return new Map(
    connections.map((connection) => [
      connection.id,
      log.filter((entry) => entry.credential === connection.credential),
    ]),
  );
}

/** How many connections are refreshed (stored after `since`) and active. */
export async function countRefreshed(
  database: FaultDatabase,
  ids: readonly string[],
  since: Date,
): Promise<number> {
  const [row] = await database.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM connections
     WHERE id = ANY($1::uuid[]) AND status = 'active' AND last_refreshed_at > $2 AND lease_owner IS NULL`,
    [ids, since],
  );
  return row.count;
}

/** Asks the sandbox's Ads API whether an access token is live (it issued it and it has not expired). */
export async function isLiveAccessToken(
  sandbox: RunningSandbox,
  accessToken: string,
): Promise<boolean> {
  const response = await fetch(`${sandbox.url}/v2/profiles`, {
    headers: {
      Authorization: `Bearer ${accessToken}`,
      'Amazon-Advertising-API-ClientId': sandbox.clientId,
    },
  });
  await response.arrayBuffer();
  return response.status === 200;
}

/** The database's clock (the API's timestamps come from it). */
export async function databaseNow(database: FaultDatabase): Promise<Date> {
  const [row] = await database.query<{ now: Date }>(
    'SELECT clock_timestamp() AS now',
  );
  return row.now;
}

/** The rows and the sandbox's log for a group, for a timeout's message. */
export async function describeGroup(
  database: FaultDatabase,
  sandbox: RunningSandbox,
  connections: readonly SeededConnection[],
): Promise<unknown> {
  const rows = await database.query(
    `SELECT label, status, lease_owner, lease_expires_at, last_refreshed_at, failure_count, last_error, next_attempt_at
     FROM connections WHERE id = ANY($1::uuid[]) ORDER BY label`,
    [connections.map((connection) => connection.id)],
  );
  const requests = tokenRequestsByConnection(sandbox, connections);
  return rows.map((row) => {
    const connection = connections.find((each) => each.label === row['label']);
    const calls = connection ? (requests.get(connection.id) ?? []) : [];
    return {
      ...row,
      calls: calls.map(
        (call) =>
          `${call.receivedAt} ${call.status} ${call.outcome} ${call.durationMs}ms`,
      ),
    };
  });
}

import { Fernet, keyIdOf } from '@keeper/fernet';
import { TestDatabase } from './test-database';

export interface SeededSecrets {
  /** label → the plaintext tokens stored for it */
  connections: Map<string, { accessToken: string; refreshToken: string }>;
  /** state hash → the plaintext code verifier */
  oauthStates: Map<string, string>;
}

/**
 * Writes rows as an older release would have: ciphertexts under `key`, one multi-row INSERT per
 * table (thousands of rows in well under a second). Plaintexts are derived from `prefix`.
 */
export async function seedEncryptedRows(
  database: TestDatabase,
  key: string,
  counts: {
    connections: number;
    oauthStates: number;
    prefix: string;
    encryptedAt?: number;
  },
): Promise<SeededSecrets> {
  const fernet = new Fernet(key);
  const encrypt = (plaintext: string) =>
    fernet.encrypt(plaintext, { now: counts.encryptedAt });
  const seeded: SeededSecrets = {
    connections: new Map(),
    oauthStates: new Map(),
  };
  const labels: string[] = [];
  const accessTokens: string[] = [];
  const refreshTokens: string[] = [];
  for (let index = 0; index < counts.connections; index += 1) {
    const label = `${counts.prefix}-connection-${index}`;
    const secrets = {
      accessToken: `Atza|${counts.prefix}-access-${index}`,
      refreshToken: `Atzr|${counts.prefix}-refresh-${index}`,
    };
    seeded.connections.set(label, secrets);
    labels.push(label);
    accessTokens.push(encrypt(secrets.accessToken));
    refreshTokens.push(encrypt(secrets.refreshToken));
  }
  const stateHashes: string[] = [];
  const verifiers: string[] = [];
  for (let index = 0; index < counts.oauthStates; index += 1) {
    const stateHash = `${counts.prefix}-state-${index}`;
    const verifier = `${counts.prefix}-verifier-${index}`.padEnd(43, 'v');
    seeded.oauthStates.set(stateHash, verifier);
    stateHashes.push(stateHash);
    verifiers.push(encrypt(verifier));
  }
  if (labels.length > 0) {
    await database.query(
      `INSERT INTO connections (label, region, status, access_token_ciphertext, refresh_token_ciphertext, key_id)
       SELECT v.label, 'na', 'active', v.access, v.refresh, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS v(label, access, refresh)`,
      [labels, accessTokens, refreshTokens, keyIdOf(key)],
    );
  }
  if (stateHashes.length > 0) {
    await database.query(
      `INSERT INTO oauth_states (state_hash, code_verifier_ciphertext, key_id, region, session_binding_hash, expires_at)
       SELECT v.state_hash, v.verifier, $3, 'eu', 'binding', now() + interval '10 minutes'
       FROM unnest($1::text[], $2::text[]) AS v(state_hash, verifier)`,
      [stateHashes, verifiers, keyIdOf(key)],
    );
  }
  return seeded;
}

import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Database } from '../database/database';
import { encryptedTables } from './encrypted-column';
import { KeyRing } from './key-ring';

/** Stored rows under one key id. */
export interface KeyIdUsage {
  keyId: string;
  primary: boolean;
  /** False: FERNET_KEYS no longer holds this key, and its rows cannot be decrypted. */
  configured: boolean;
  /** Rows per table (`connections`, `oauth_states`), every table listed. */
  rowsByTable: Record<string, number>;
  rows: number;
}

export interface KeyUsage {
  primaryKeyId: string;
  /** The configured keys in FERNET_KEYS order, then stored key ids that no configured key has. */
  keys: KeyIdUsage[];
  /** The tables counted (every table with encrypted columns). */
  tables: string[];
  /** Rows under a configured key other than the primary: `npm run keys -- rotate` moves them. */
  rowsUnderOldKeys: number;
  /** Stored key ids that FERNET_KEYS does not hold. */
  missingKeyIds: string[];
  /** Rows under those: unreadable until their key is configured again. */
  rowsUnderMissingKeys: number;
  /** Configured old keys that no row is under: they can be taken out of FERNET_KEYS. */
  removableKeyIds: string[];
}

/** Stored rows under key ids that FERNET_KEYS does not hold: what readiness reports. */
export interface MissingKeys {
  /** Sorted; empty when every stored row is under a configured key. */
  missingKeyIds: string[];
  /** Rows under those, over every table (counted only when there are some). */
  rowsUnderMissingKeys: number;
}

/** Which keys the stored secrets are under: for `keys status` and the readiness check. */
@Injectable()
export class KeyUsageService {
  constructor(
    private readonly database: Database,
    private readonly keyRing: KeyRing,
  ) {}

  /**
   * Stored rows per table and key id, over every table with encrypted columns (`connections`,
   * `oauth_states`, and any added later): one statement, in `manager`'s transaction if given.
   */
  async countRows(
    manager?: EntityManager,
  ): Promise<{ table_name: string; key_id: string; rows: number }[]> {
    const dataSource = this.database.dataSource;
    const tables = encryptedTables(dataSource);
    if (tables.length === 0) return [];
    return (manager ?? dataSource).query(
      tables
        .map(
          (table, index) =>
            `SELECT $${index + 1}::text AS table_name, ${table.keyIdColumn} AS key_id, count(*)::int AS rows ` +
            `FROM ${table.sqlName} WHERE ${table.keyIdColumn} IS NOT NULL GROUP BY ${table.keyIdColumn}`,
        )
        .join(' UNION ALL ') + ' ORDER BY key_id',
      tables.map((table) => table.tableName),
    );
  }

  /**
   * The distinct key ids stored in any table with encrypted columns, read as a skip scan over
   * each table's `key_id` index: one index probe per distinct key id (a handful), whatever the
   * number of rows. Cheap enough for every readiness probe, unlike {@link countRows}.
   */
  async storedKeyIds(manager?: EntityManager): Promise<string[]> {
    const dataSource = this.database.dataSource;
    const tables = encryptedTables(dataSource);
    if (tables.length === 0) return [];
    // PostgreSQL has no skip scan of its own: the recursive query asks the index for the
    // smallest key id, then for the smallest one after it, until there is none.
    const rows: { key_id: string }[] = await (manager ?? dataSource).query(
      'WITH RECURSIVE ' +
        tables
          .map((table, index) => {
            const keyId = table.keyIdColumn;
            return (
              `ids_${index}(key_id) AS (` +
              `(SELECT ${keyId} FROM ${table.sqlName} WHERE ${keyId} IS NOT NULL ORDER BY ${keyId} LIMIT 1) ` +
              `UNION ALL SELECT (SELECT ${keyId} FROM ${table.sqlName} WHERE ${keyId} > ids_${index}.key_id ORDER BY ${keyId} LIMIT 1) ` +
              `FROM ids_${index} WHERE ids_${index}.key_id IS NOT NULL)`
            );
          })
          .join(', ') +
        ' ' +
        tables
          .map(
            (_, index) =>
              `SELECT key_id FROM ids_${index} WHERE key_id IS NOT NULL`,
          )
          .join(' UNION ') +
        ' ORDER BY key_id',
    );
    return rows.map((row) => row.key_id);
  }

  /**
   * For readiness: the stored key ids FERNET_KEYS does not hold ({@link storedKeyIds}, an index
   * probe per key id), and only when there are some, the rows under them (an indexed count of
   * those rows alone).
   */
  async missingKeys(): Promise<MissingKeys> {
    const missingKeyIds = (await this.storedKeyIds()).filter(
      (keyId) => !this.keyRing.holds(keyId),
    );
    if (missingKeyIds.length === 0)
      return { missingKeyIds, rowsUnderMissingKeys: 0 };
    const dataSource = this.database.dataSource;
    const rows: { rows: number }[] = await dataSource.query(
      encryptedTables(dataSource)
        .map(
          (table) =>
            `SELECT count(*)::int AS rows FROM ${table.sqlName} WHERE ${table.keyIdColumn} = ANY($1::text[])`,
        )
        .join(' UNION ALL '),
      [missingKeyIds],
    );
    return {
      missingKeyIds,
      rowsUnderMissingKeys: rows.reduce((sum, row) => sum + row.rows, 0),
    };
  }

  async usage(): Promise<KeyUsage> {
    const tables = encryptedTables(this.database.dataSource);
    const counts = new Map<string, Record<string, number>>();
    const countsOf = (keyId: string) => {
      let rowsByTable = counts.get(keyId);
      if (!rowsByTable) {
        rowsByTable = Object.fromEntries(
          tables.map((table) => [table.tableName, 0]),
        );
        counts.set(keyId, rowsByTable);
      }
      return rowsByTable;
    };
    for (const keyId of this.keyRing.keyIds) countsOf(keyId);

    for (const row of await this.countRows())
      countsOf(row.key_id)[row.table_name] += row.rows;

    const keys = [...counts].map(
      ([keyId, rowsByTable]): KeyIdUsage => ({
        keyId,
        primary: keyId === this.keyRing.primaryKeyId,
        configured: this.keyRing.holds(keyId),
        rowsByTable,
        rows: Object.values(rowsByTable).reduce((sum, count) => sum + count, 0),
      }),
    );
    const old = keys.filter((key) => key.configured && !key.primary);
    const missing = keys.filter((key) => !key.configured);
    return {
      primaryKeyId: this.keyRing.primaryKeyId,
      keys,
      tables: tables.map((table) => table.tableName),
      rowsUnderOldKeys: old.reduce((sum, key) => sum + key.rows, 0),
      missingKeyIds: missing.map((key) => key.keyId),
      rowsUnderMissingKeys: missing.reduce((sum, key) => sum + key.rows, 0),
      removableKeyIds: old
        .filter((key) => key.rows === 0)
        .map((key) => key.keyId),
    };
  }
}

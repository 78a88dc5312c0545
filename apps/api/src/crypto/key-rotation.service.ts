import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Database } from '../database/database';
import { EncryptedTable, encryptedTables } from './encrypted-column';
import { KeyRing } from './key-ring';
import { KeyUsageService } from './key-usage.service';
import { UnreadableSecretError } from './unreadable-secret.error';

export const DEFAULT_ROTATION_BATCH_SIZE = 500;
export const MAX_ROTATION_BATCH_SIZE = 10_000;
const DEFAULT_LOCK_WAIT_MS = 30_000;
const LOCKED_ROWS_POLL_MS = 250;

/** One committed batch. */
export interface RotationBatch {
  table: string;
  rows: number;
  /** Rows of this batch per key id they were under. */
  rowsByFromKeyId: Record<string, number>;
  /** Totals of this run so far. */
  batchesCommitted: number;
  rowsReEncrypted: number;
}

export interface RotationOptions {
  /** Rows per transaction; 1 to 10,000 (default 500). */
  batchSize?: number;
  /** How long to keep retrying rows that other transactions hold locked (default 30 s). */
  lockWaitMs?: number;
  /** Who started the run, for the audit event (default `cli`). */
  actor?: string;
  /**
   * Called after each committed batch, for progress. Also the test seam for a crash: a throw
   * stops the run right there, as a killed process would (what was committed stays, no audit
   * event is written), and the error is rethrown.
   */
  onBatchCommitted?: (batch: RotationBatch) => void | Promise<void>;
}

export interface RotationSummary {
  toKeyId: string;
  rowsReEncrypted: number;
  rowsByTable: Record<string, number>;
  rowsByFromKeyId: Record<string, number>;
  batchesCommitted: number;
  /** Rows still under an old key because other transactions held them locked past `lockWaitMs`. */
  rowsLeft: number;
  /** Rows labelled with a configured old key that no configured key opens (damaged values). */
  unreadableRows: { table: string; id: string }[];
  /** Stored key ids FERNET_KEYS does not hold: their rows cannot be read, so cannot be rotated. */
  missingKeyIds: string[];
  rowsUnderMissingKeys: number;
  /** Every stored secret is now under the primary key. */
  complete: boolean;
}

interface StoredRow {
  id: string;
  key_id: string;
  [secret: `s${number}`]: string | null;
}

/**
 * Re-encrypts every stored secret under the primary key (`npm run keys -- rotate`).
 *
 * Batches of rows under an old configured key are taken with `FOR UPDATE SKIP LOCKED`,
 * re-encrypted (`KeyRing.rotate`: same plaintext and Fernet timestamp) and written back with
 * `key_id` set to the primary, one transaction each. So it is safe while the API runs (a row
 * a refresh holds is skipped and taken in a later pass; a refresh that writes a row writes
 * it under the primary anyway), and resumable by construction: a crash loses at most the
 * batch in flight, and the next run picks up what is still under an old key.
 */
@Injectable()
export class KeyRotationService {
  constructor(
    private readonly database: Database,
    private readonly keyRing: KeyRing,
    private readonly audit: AuditService,
    private readonly keyUsage: KeyUsageService,
  ) {}

  async rotate(options: RotationOptions = {}): Promise<RotationSummary> {
    const batchSize = options.batchSize ?? DEFAULT_ROTATION_BATCH_SIZE;
    if (
      !Number.isInteger(batchSize) ||
      batchSize < 1 ||
      batchSize > MAX_ROTATION_BATCH_SIZE
    ) {
      throw new RangeError(
        `The batch size must be a whole number from 1 to ${MAX_ROTATION_BATCH_SIZE}.`,
      );
    }
    const dataSource = this.database.dataSource;
    const tables = encryptedTables(dataSource);
    const summary: RotationSummary = {
      toKeyId: this.keyRing.primaryKeyId,
      rowsReEncrypted: 0,
      rowsByTable: Object.fromEntries(
        tables.map((table) => [table.tableName, 0]),
      ),
      rowsByFromKeyId: {},
      batchesCommitted: 0,
      rowsLeft: 0,
      unreadableRows: [],
      missingKeyIds: [],
      rowsUnderMissingKeys: 0,
      complete: false,
    };

    if (this.keyRing.oldKeyIds.length > 0) {
      for (const table of tables) {
        summary.rowsLeft += await this.rotateTable(
          table,
          batchSize,
          options,
          summary,
        );
      }
    }

    const usage = await this.keyUsage.usage();
    summary.missingKeyIds = usage.missingKeyIds;
    summary.rowsUnderMissingKeys = usage.rowsUnderMissingKeys;
    summary.complete =
      usage.rowsUnderOldKeys === 0 && usage.rowsUnderMissingKeys === 0;
    await this.audit.record({
      type: 'key_rotated',
      actor: options.actor ?? 'cli',
      details: {
        toKeyId: summary.toKeyId,
        fromKeyIds: describeCounts(summary.rowsByFromKeyId),
        rowsReEncrypted: summary.rowsReEncrypted,
        rowsByTable: describeCounts(summary.rowsByTable),
        rowsLeft: summary.rowsLeft,
        rowsUnreadable:
          summary.unreadableRows.length + summary.rowsUnderMissingKeys,
        complete: summary.complete,
      },
    });
    return summary;
  }

  /** @returns how many rows are still under an old key (held locked past the wait). */
  private async rotateTable(
    table: EncryptedTable,
    batchSize: number,
    options: RotationOptions,
    summary: RotationSummary,
  ): Promise<number> {
    const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
    const unreadableIds: string[] = [];
    let waitingSince: number | undefined;
    for (;;) {
      const batch = await this.database.dataSource.transaction((manager) =>
        this.rotateBatch(manager, table, batchSize, unreadableIds),
      );
      if (batch.selected > 0) {
        waitingSince = undefined;
        if (batch.rows === 0) continue;
        summary.batchesCommitted += 1;
        summary.rowsReEncrypted += batch.rows;
        summary.rowsByTable[table.tableName] += batch.rows;
        for (const [keyId, count] of Object.entries(batch.rowsByFromKeyId)) {
          summary.rowsByFromKeyId[keyId] =
            (summary.rowsByFromKeyId[keyId] ?? 0) + count;
        }
        await options.onBatchCommitted?.({
          table: table.tableName,
          rows: batch.rows,
          rowsByFromKeyId: batch.rowsByFromKeyId,
          batchesCommitted: summary.batchesCommitted,
          rowsReEncrypted: summary.rowsReEncrypted,
        });
        continue;
      }
      // Nothing could be taken: done, or what is left is locked by another transaction.
      const left = await this.countLeft(table, unreadableIds);
      if (left === 0) break;
      waitingSince ??= Date.now();
      if (Date.now() - waitingSince >= lockWaitMs) {
        summary.unreadableRows.push(
          ...unreadableIds.map((id) => ({ table: table.tableName, id })),
        );
        return left;
      }
      await sleep(LOCKED_ROWS_POLL_MS);
    }
    summary.unreadableRows.push(
      ...unreadableIds.map((id) => ({ table: table.tableName, id })),
    );
    return 0;
  }

  private async rotateBatch(
    manager: EntityManager,
    table: EncryptedTable,
    batchSize: number,
    unreadableIds: string[],
  ): Promise<{
    selected: number;
    rows: number;
    rowsByFromKeyId: Record<string, number>;
  }> {
    const id = table.primaryColumn.sqlName;
    const idType = table.primaryColumn.type;
    const secrets = table.secretColumns
      .map((column, index) => `${column} AS s${index}`)
      .join(', ');
    const rows: StoredRow[] = await manager.query(
      `SELECT ${id}::text AS id, ${table.keyIdColumn} AS key_id, ${secrets} FROM ${table.sqlName} ` +
        `WHERE ${table.keyIdColumn} = ANY($1::text[]) AND NOT (${id} = ANY($2::${idType}[])) ` +
        `ORDER BY ${id} LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [this.keyRing.oldKeyIds, unreadableIds, batchSize],
    );

    const ids: string[] = [];
    const keyIds: (string | null)[] = [];
    const ciphertexts: (string | null)[][] = table.secretColumns.map(() => []);
    const rowsByFromKeyId: Record<string, number> = {};
    for (const row of rows) {
      let rotated: (string | null)[];
      try {
        rotated = table.secretColumns.map((_, index) => {
          const ciphertext = row[`s${index}`];
          return ciphertext === null ? null : this.keyRing.rotate(ciphertext);
        });
      } catch (error) {
        if (!(error instanceof UnreadableSecretError)) throw error;
        unreadableIds.push(row.id);
        continue;
      }
      ids.push(row.id);
      keyIds.push(
        rotated.some((ciphertext) => ciphertext !== null)
          ? this.keyRing.primaryKeyId
          : null,
      );
      rotated.forEach((ciphertext, index) =>
        ciphertexts[index].push(ciphertext),
      );
      rowsByFromKeyId[row.key_id] = (rowsByFromKeyId[row.key_id] ?? 0) + 1;
    }

    if (ids.length > 0) {
      const assignments = table.secretColumns
        .map((column, index) => `${column} = v.s${index}`)
        .join(', ');
      const arrays = table.secretColumns
        .map((_, index) => `$${index + 3}::text[]`)
        .join(', ');
      const names = table.secretColumns
        .map((_, index) => `s${index}`)
        .join(', ');
      await manager.query(
        `UPDATE ${table.sqlName} AS t SET ${assignments}, ${table.keyIdColumn} = v.key_id ` +
          `FROM unnest($1::${idType}[], $2::text[], ${arrays}) AS v(id, key_id, ${names}) WHERE t.${id} = v.id`,
        [ids, keyIds, ...ciphertexts],
      );
    }
    return { selected: rows.length, rows: ids.length, rowsByFromKeyId };
  }

  private async countLeft(
    table: EncryptedTable,
    unreadableIds: string[],
  ): Promise<number> {
    const id = table.primaryColumn.sqlName;
    const [{ count }] = await this.database.dataSource.query<
      { count: number }[]
    >(
      `SELECT count(*)::int AS count FROM ${table.sqlName} ` +
        `WHERE ${table.keyIdColumn} = ANY($1::text[]) AND NOT (${id} = ANY($2::${table.primaryColumn.type}[]))`,
      [this.keyRing.oldKeyIds, unreadableIds],
    );
    return count;
  }
}

/** `{ a: 3, b: 1 }` as `a=3, b=1`: audit details are flat values. */
function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([name, count]) => `${name}=${count}`)
    .join(', ');
}

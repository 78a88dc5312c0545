import { Fernet } from '@keeper/fernet';
import { AuditService } from '../audit/audit.service';
import { Database } from '../database/database';
import { KeyRing } from './key-ring';
import {
  DEFAULT_ROTATION_BATCH_SIZE,
  KeyRotationService,
  MAX_ROTATION_BATCH_SIZE,
  RotationBatch,
  RotationSummary,
} from './key-rotation.service';
import { KeyUsage, KeyUsageService } from './key-usage.service';

/** Where a command writes: results to `out` (stdout), diagnostics to `err` (stderr). */
export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
}

/** What the `keys status` and `keys rotate` commands work on. */
export interface KeysCommandContext {
  database: Database;
  keyRing: KeyRing;
}

/** A command line the CLI cannot run; printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = UsageError.name;
}

export interface RotateArguments {
  batchSize: number;
}

const PROGRESS_INTERVAL_MS = 1_000;

/** `keys generate`: a new key on stdout and nothing else, so `$(npm run -s keys -- generate)` works. */
export function generateKeyCommand(output: CommandOutput): number {
  output.out(`${Fernet.generateKey()}\n`);
  return 0;
}

/** `keys status`: the key ids, the rows under each, and what the operator can do next. */
export async function keyStatusCommand(
  context: KeysCommandContext,
  output: CommandOutput,
): Promise<number> {
  const usage = await new KeyUsageService(
    context.database,
    context.keyRing,
  ).usage();
  output.out(`${describeUsage(usage)}\n`);
  return usage.rowsUnderMissingKeys > 0 ? 1 : 0;
}

/** `[--batch-size N]` */
export function parseRotateArguments(args: string[]): RotateArguments {
  let batchSize = DEFAULT_ROTATION_BATCH_SIZE;
  for (let index = 0; index < args.length; index += 1) {
    const [flag, inline] = args[index].split(/=(.*)/s, 2);
    if (flag !== '--batch-size')
      throw new UsageError(`Unknown option "${args[index]}" for keys rotate.`);
    const value = inline ?? args[++index];
    if (
      value === undefined ||
      !/^\d+$/.test(value) ||
      Number(value) < 1 ||
      Number(value) > MAX_ROTATION_BATCH_SIZE
    ) {
      throw new UsageError(
        `--batch-size takes a whole number from 1 to ${MAX_ROTATION_BATCH_SIZE}.`,
      );
    }
    batchSize = Number(value);
  }
  return { batchSize };
}

/** `keys rotate`: re-encrypts every stored secret under the primary key, with progress and a summary. */
export async function rotateKeysCommand(
  context: KeysCommandContext,
  args: RotateArguments,
  output: CommandOutput,
  now: () => number = Date.now,
): Promise<number> {
  const { database, keyRing } = context;
  const keyUsage = new KeyUsageService(database, keyRing);
  const rotation = new KeyRotationService(
    database,
    keyRing,
    new AuditService(database),
    keyUsage,
  );
  const oldKeys =
    keyRing.oldKeyIds.length > 0
      ? ` (old key ids: ${keyRing.oldKeyIds.join(', ')})`
      : '';
  output.out(
    `Re-encrypting stored secrets under the primary key ${keyRing.primaryKeyId}${oldKeys}, ${args.batchSize} rows per transaction.\n`,
  );
  if (keyRing.oldKeyIds.length === 0) {
    output.out(
      'FERNET_KEYS holds only the primary key, so there is no old key to move rows from.\n',
    );
  }

  let lastProgressAt = now();
  const summary = await rotation.rotate({
    batchSize: args.batchSize,
    actor: 'cli',
    onBatchCommitted: (batch: RotationBatch) => {
      if (now() - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = now();
      output.out(
        `  ${batch.rowsReEncrypted} row(s) re-encrypted so far (now in ${batch.table})\n`,
      );
    },
  });
  output.out(`${describeRotation(summary)}\n`);
  if (summary.complete) {
    const usage = await keyUsage.usage();
    if (usage.removableKeyIds.length > 0) {
      output.out(
        `Key id(s) ${usage.removableKeyIds.join(', ')} can now be removed from FERNET_KEYS.\n`,
      );
    }
  }
  return summary.complete ? 0 : 1;
}

function describeRotation(summary: RotationSummary): string {
  const byTable = Object.entries(summary.rowsByTable)
    .map(([table, rows]) => `${table} ${rows}`)
    .join(', ');
  const fromKeys = Object.entries(summary.rowsByFromKeyId)
    .map(([keyId, rows]) => `${keyId} (${rows})`)
    .join(', ');
  const lines = [
    `Re-encrypted ${summary.rowsReEncrypted} row(s) in ${summary.batchesCommitted} transaction(s): ${byTable}` +
      (fromKeys ? `; from key id(s) ${fromKeys}.` : '.'),
  ];
  if (summary.rowsLeft > 0) {
    lines.push(
      `${summary.rowsLeft} row(s) stayed locked by other transactions and are still under an old key: run this command again.`,
    );
  }
  if (summary.unreadableRows.length > 0) {
    const ids = summary.unreadableRows
      .map((row) => `${row.table} ${row.id}`)
      .join(', ');
    lines.push(
      `${summary.unreadableRows.length} row(s) could not be decrypted with any configured key: ${ids}.`,
    );
  }
  if (summary.rowsUnderMissingKeys > 0)
    lines.push(
      missingKeysLine(summary.rowsUnderMissingKeys, summary.missingKeyIds),
    );
  if (summary.complete)
    lines.push(
      `Every stored secret is under the primary key ${summary.toKeyId}.`,
    );
  return lines.join('\n');
}

function missingKeysLine(rows: number, keyIds: string[]): string {
  return (
    `${rows} row(s) are under key id(s) ${keyIds.join(', ')} that FERNET_KEYS no longer holds: they cannot be ` +
    'decrypted (nor rotated) until that key is configured again, and /health/ready is down meanwhile.'
  );
}

/** The status table and what it means. Key ids only: never a key. */
export function describeUsage(usage: KeyUsage): string {
  const roleOf = (key: KeyUsage['keys'][number]) =>
    key.primary
      ? 'primary'
      : key.configured
        ? key.rows === 0
          ? 'old, no rows'
          : 'old'
        : 'missing — rows unreadable';
  const header = ['key id', 'role', ...usage.tables, 'rows'];
  const rows = usage.keys.map((key) => [
    key.keyId,
    roleOf(key),
    ...usage.tables.map((table) => String(key.rowsByTable[table] ?? 0)),
    String(key.rows),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const format = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column < 2
          ? cell.padEnd(widths[column])
          : cell.padStart(widths[column]),
      )
      .join('  ')
      .trimEnd();

  const configured = usage.keys.filter((key) => key.configured).length;
  const lines = [
    `FERNET_KEYS holds ${configured} key(s), the primary first. Stored rows per key id:`,
    '',
  ];
  lines.push(
    `  ${format(header)}`,
    ...rows.map((row) => `  ${format(row)}`),
    '',
  );
  if (usage.rowsUnderOldKeys > 0) {
    lines.push(
      `${usage.rowsUnderOldKeys} row(s) are still under old keys: run \`npm run keys -- rotate\` to move them to the primary key; ` +
        'an old key can be removed once it holds no rows.',
    );
  }
  if (usage.rowsUnderMissingKeys > 0)
    lines.push(
      missingKeysLine(usage.rowsUnderMissingKeys, usage.missingKeyIds),
    );
  if (usage.rowsUnderOldKeys === 0 && usage.rowsUnderMissingKeys === 0) {
    lines.push('Every stored secret is under the primary key.');
  }
  if (usage.removableKeyIds.length > 0) {
    lines.push(
      `Key id(s) ${usage.removableKeyIds.join(', ')} hold no rows: remove them from FERNET_KEYS ` +
        '(wherever the API runs) when you are ready.',
    );
  }
  return lines.join('\n');
}

import {
  IMPORT_FORMATS,
  IMPORT_LIMITS,
  type ImportFormat,
  type ImportSummaryDto,
} from '@keeper/contracts';
import { Fernet, keyIdOf } from '@keeper/fernet';
import { open, readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { ConnectionsRepository } from '../connections/connections.repository';
import { CommandOutput, UsageError } from '../crypto/keys.command';
import { ConnectionImporter } from './connection-importer';
import {
  EXPORT_FORMAT_NAME,
  fernetFor,
  ImportFileError,
  parseImport,
} from './import-file';

export interface ImportArguments {
  file: string;
  format: ImportFormat;
  fromKey?: string;
}

export interface ExportArguments {
  toKey: string;
  out?: string;
}

/** Paths on the command line are the caller's (npm runs scripts from the project's root). */
function callerPath(path: string): string {
  return resolve(process.env['INIT_CWD'] ?? process.cwd(), path);
}

/** Splits `--name value` and `--name=value`; answers the options and the other arguments. */
function options(
  args: string[],
  known: readonly string[],
  command: string,
): { values: Record<string, string>; rest: string[] } {
  const values: Record<string, string> = {};
  const rest: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const argument = args[index];
    if (!argument.startsWith('--')) {
      rest.push(argument);
      continue;
    }
    const [flag, inline] = argument.split(/=(.*)/s, 2);
    if (!known.includes(flag))
      throw new UsageError(`Unknown option "${flag}" for ${command}.`);
    const value = inline ?? args[++index];
    if (value === undefined || value === '')
      throw new UsageError(`${flag} needs a value.`);
    if (flag in values)
      throw new UsageError(`${flag} is given more than once.`);
    values[flag] = value;
  }
  return { values, rest };
}

/** `<file> [--format csv|json] [--from-key <old Fernet key>]` */
export function parseImportArguments(args: string[]): ImportArguments {
  const { values, rest } = options(args, ['--format', '--from-key'], 'import');
  if (rest.length !== 1)
    throw new UsageError(
      rest.length === 0
        ? 'import needs the file to import.'
        : 'import takes one file.',
    );
  const file = rest[0];
  const format = values['--format'] ?? extname(file).slice(1).toLowerCase();
  if (!(IMPORT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      values['--format']
        ? `--format must be one of ${IMPORT_FORMATS.join(', ')}.`
        : 'The file name does not end in .csv or .json: say which with --format csv or --format json.',
    );
  return {
    file,
    format: format as ImportFormat,
    ...(values['--from-key'] ? { fromKey: values['--from-key'] } : {}),
  };
}

/** `--to-key <Fernet key> [--out <file>]` */
export function parseExportArguments(args: string[]): ExportArguments {
  const { values, rest } = options(args, ['--to-key', '--out'], 'export');
  if (rest.length > 0)
    throw new UsageError(`Unexpected argument for export (see --out).`);
  const toKey = values['--to-key'];
  if (!toKey) throw new UsageError('export needs --to-key <Fernet key>.');
  return { toKey, ...(values['--out'] ? { out: values['--out'] } : {}) };
}

/** Reads the import file, refusing it whole when it is too large (before reading it). */
export async function readImportFile(path: string): Promise<string> {
  const full = callerPath(path);
  let size: number;
  try {
    size = (await stat(full)).size;
  } catch {
    throw new ImportFileError(`Cannot read ${path}: no such file.`);
  }
  if (size > IMPORT_LIMITS.maxBytes)
    throw new ImportFileError(
      `${path} is larger than ${IMPORT_LIMITS.maxBytes / 1024 / 1024} MiB: split it into several files.`,
    );
  return readFile(full, 'utf8');
}

const PROGRESS_INTERVAL_MS = 1_000;

/** `npm run import -- <file>`: the summary on stdout, progress on stderr; exit 1 if a line failed. */
export async function importCommand(
  importer: ConnectionImporter,
  args: ImportArguments,
  output: CommandOutput,
  now: () => number = Date.now,
): Promise<number> {
  const content = await readImportFile(args.file);
  const parsed = parseImport(args.format, content, args.fromKey);
  output.err(
    `Proving ${parsed.entries.length} refresh token(s) from ${args.file} with one refresh each (${IMPORT_LIMITS.concurrency} at a time)…\n`,
  );
  let lastProgressAt = now();
  const summary = await importer.import(parsed, {
    actor: 'cli',
    correlationId: `import-${randomUUID()}`,
    onLineDone: (done, total) => {
      if (now() - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = now();
      output.err(`  ${done} of ${total} done\n`);
    },
  });
  output.out(`${describeImport(summary, args.file)}\n`);
  return summary.failed > 0 ? 1 : 0;
}

/** The CLI's summary: counts, then every failed and skipped line. Never a token. */
export function describeImport(
  summary: ImportSummaryDto,
  file: string,
): string {
  const lines = [
    `${file}: ${summary.lines} line(s): ${summary.imported} imported, ${summary.skipped} skipped (already here), ${summary.failed} failed.`,
  ];
  if (summary.failures.length > 0) {
    lines.push('Failed (nothing of these lines was saved):');
    for (const failure of summary.failures)
      lines.push(`  line ${failure.line}: ${failure.reason}`);
  }
  if (summary.skippedLines.length > 0) {
    lines.push('Skipped (the Amazon account already has a live connection):');
    for (const skipped of summary.skippedLines)
      lines.push(`  line ${skipped.line}: connection ${skipped.connectionId}`);
  }
  return lines.join('\n');
}

/** What `npm run export` writes (README, "Import and export"). */
export interface ExportFile {
  format: typeof EXPORT_FORMAT_NAME;
  version: 1;
  exportedAt: string;
  /** The id of the key the tokens are encrypted under (as `npm run keys -- status` shows ids). */
  keyId: string;
  connections: {
    id: string;
    label: string;
    region: string;
    status: string;
    amazonAccountIds: string[];
    profiles: unknown[];
    refreshTokenFernet: string;
  }[];
}

export class ExportError extends Error {
  override name = ExportError.name;
}

function defaultExportName(at: Date): string {
  return `ads-token-keeper-export-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}.json`;
}

/**
 * `npm run export -- --to-key <key> [--out <file>]`: every connection with a refresh token,
 * the token encrypted under `toKey`, into a new file (mode 0600, never over an existing one);
 * one `exported` audit event with the count.
 */
export async function exportCommand(
  context: { connections: ConnectionsRepository; audit: AuditService },
  args: ExportArguments,
  output: CommandOutput,
): Promise<number> {
  let fernet: Fernet;
  try {
    fernet = fernetFor(args.toKey, 'The --to-key');
  } catch (error) {
    throw new ExportError((error as Error).message);
  }
  const exportedAt = new Date();
  const path = callerPath(args.out ?? defaultExportName(exportedAt));
  const connections = await context.connections.withRefreshTokens();
  const file: ExportFile = {
    format: EXPORT_FORMAT_NAME,
    version: 1,
    exportedAt: exportedAt.toISOString(),
    keyId: keyIdOf(args.toKey.trim()),
    connections: connections.map((connection) => ({
      id: connection.id,
      label: connection.label,
      region: connection.region,
      status: connection.status,
      amazonAccountIds: connection.amazonAccountIds,
      profiles: connection.profiles,
      refreshTokenFernet: fernet.encrypt(connection.refreshToken as string),
    })),
  };
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    throw new ExportError(
      (error as NodeJS.ErrnoException).code === 'EEXIST'
        ? `${path} already exists: the export never overwrites a file; choose another --out.`
        : `Cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`,
    );
  }
  try {
    await handle.writeFile(`${JSON.stringify(file, null, 2)}\n`, 'utf8');
  } finally {
    await handle.close();
  }
  await context.audit.record({
    type: 'exported',
    actor: 'cli',
    details: { connections: file.connections.length, keyId: file.keyId },
  });
  output.out(
    `Exported ${file.connections.length} connection(s) to ${path} (mode 0600), refresh tokens encrypted under key id ${file.keyId}.\n`,
  );
  return 0;
}

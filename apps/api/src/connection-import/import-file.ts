import {
  IMPORT_LIMITS,
  REGIONS,
  type ImportFormat,
  type ImportLineFailureDto,
  type Region,
} from '@keeper/contracts';
import { Fernet } from '@keeper/fernet';
import { InvalidRequestError } from '../common/domain-errors';

/** One line of an import that passed validation: a plain refresh token, ready to be proven. */
export interface ImportEntry {
  line: number;
  region: Region;
  refreshToken: string;
  /** Absent: the connection is named as a consent names it. */
  label?: string;
}

export interface ParsedImport {
  /** Lines in the input (CSV rows after the header, JSON array elements; blank CSV lines not counted). */
  lines: number;
  entries: ImportEntry[];
  failures: ImportLineFailureDto[];
}

/** The whole input is refused (size, line count, header, JSON syntax, key): nothing is imported. */
export class ImportFileError extends InvalidRequestError {}

/** The shape `npm run export` writes (README, "Import and export"). */
export const EXPORT_FORMAT_NAME = 'ads-token-keeper-export';

/** Printable ASCII without spaces: what LWA refresh tokens and Fernet tokens are made of. */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;
/** No control character, no lone surrogate (the label rule of a rename). */
const PLAIN_TEXT = /^[^\p{Cc}\p{Cs}]*$/u;
const CSV_COLUMNS = ['refresh_token', 'region', 'label'] as const;

/** Stands for a CSV line that could not be split into the header's columns. */
const MALFORMED = Symbol('malformed');
/** Stands for a JSON element that is not an object. */
const NOT_OBJECT = Symbol('not an object');

interface RawLine {
  line: number;
  token: unknown;
  region: unknown;
  label: unknown;
}

/** A Fernet key, checked; the message never repeats the key. */
export function fernetFor(key: string, option: string): Fernet {
  try {
    return new Fernet(key.trim());
  } catch {
    throw new ImportFileError(
      `${option} is not a valid Fernet key (32 bytes in urlsafe base64, 44 characters, as \`npm run keys -- generate\` prints).`,
    );
  }
}

/**
 * Parses and validates an import (README, "Import and export"). Whole-input problems throw
 * {@link ImportFileError}; a bad line becomes a failure with its line number and reason (never
 * a token, nor a piece of one) and the others go on. With `fromKey`, the token column holds
 * Fernet ciphertexts decrypted here with that key.
 */
export function parseImport(
  format: ImportFormat,
  content: string,
  fromKey?: string,
  /** How the key is named in messages: `--from-key` (CLI) or `fromKey` (HTTP). */
  keyName = '--from-key',
): ParsedImport {
  const fernet =
    fromKey === undefined ? undefined : fernetFor(fromKey, `The ${keyName}`);
  if (Buffer.byteLength(content, 'utf8') > IMPORT_LIMITS.maxBytes)
    throw new ImportFileError(
      `The import is larger than ${IMPORT_LIMITS.maxBytes / 1024 / 1024} MiB: split it into several files.`,
    );
  const text = content.replace(/^\uFEFF/, '');
  const raw =
    format === 'csv' ? csvLines(text) : jsonLines(text, !!fernet, keyName);
  if (raw.length === 0)
    throw new ImportFileError('The import holds no line to import.');
  if (raw.length > IMPORT_LIMITS.maxLines)
    throw new ImportFileError(
      `The import holds ${raw.length} lines; at most ${IMPORT_LIMITS.maxLines} per import: split it into several files.`,
    );

  const entries: ImportEntry[] = [];
  const failures: ImportLineFailureDto[] = [];
  const seen = new Map<string, number>();
  for (const line of raw) {
    const result = validate(line, fernet, keyName);
    if (typeof result === 'string') {
      failures.push({ line: line.line, reason: result });
      continue;
    }
    const earlier = seen.get(result.refreshToken);
    if (earlier !== undefined) {
      failures.push({
        line: line.line,
        reason: `The same refresh token as line ${earlier}.`,
      });
      continue;
    }
    seen.set(result.refreshToken, line.line);
    entries.push(result);
  }
  return { lines: raw.length, entries, failures };
}

function validate(
  raw: RawLine,
  fernet: Fernet | undefined,
  keyName: string,
): ImportEntry | string {
  if (raw.token === MALFORMED)
    return `The line does not have the header's columns: a comma too many or too few, or unbalanced quotes.`;
  if (raw.token === NOT_OBJECT)
    return 'The element is not an object {"refreshToken", "region", "label"}.';
  const column = fernet ? 'The encrypted refresh token' : 'The refresh token';
  if (typeof raw.token !== 'string' || raw.token.trim() === '')
    return `${column} is missing.`;
  const written = raw.token.trim();
  if (written.length > IMPORT_LIMITS.maxTokenLength)
    return `${column} is longer than ${IMPORT_LIMITS.maxTokenLength} characters.`;
  if (!TOKEN_CHARACTERS.test(written))
    return `${column} holds characters a token never has (spaces, control or non-ASCII characters).`;
  if (typeof raw.region !== 'string' || raw.region.trim() === '')
    return `The region is missing (one of ${REGIONS.join(', ')}).`;
  const region = raw.region.trim().toLowerCase();
  if (!(REGIONS as readonly string[]).includes(region))
    return `Unknown region: the region must be one of ${REGIONS.join(', ')}.`;
  let label: string | undefined;
  if (raw.label !== undefined && raw.label !== null) {
    if (typeof raw.label !== 'string') return 'The label must be text.';
    label = raw.label.trim() || undefined;
    if (label && label.length > IMPORT_LIMITS.maxLabelLength)
      return `The label is longer than ${IMPORT_LIMITS.maxLabelLength} characters.`;
    if (label && !PLAIN_TEXT.test(label))
      return 'The label must be plain text, without control characters.';
  }
  let refreshToken = written;
  if (fernet) {
    let plain: string;
    try {
      plain = fernet.decrypt(written).toString('utf8');
    } catch {
      return `The encrypted refresh token does not decrypt with the ${keyName} key (another key, or damaged).`;
    }
    refreshToken = plain.trim();
    if (
      refreshToken === '' ||
      refreshToken.length > IMPORT_LIMITS.maxTokenLength ||
      !TOKEN_CHARACTERS.test(refreshToken)
    )
      return 'The encrypted refresh token decrypts to something that is not a refresh token.';
  }
  return {
    line: raw.line,
    region: region as Region,
    refreshToken,
    ...(label ? { label } : {}),
  };
}

/**
 * CSV (RFC 4180 fields: a field may be quoted, `""` is a quote inside one; a quoted field may
 * not span lines). The header names the columns, in any order: `refresh_token` and `region`,
 * `label` optional. Blank lines are ignored; line numbers are the file's (the header is line 1).
 */
function csvLines(text: string): RawLine[] {
  const physical = text.split(/\r?\n/);
  const headerIndex = physical.findIndex((line) => line.trim() !== '');
  if (headerIndex < 0) return [];
  const header = splitCsv(physical[headerIndex]);
  const names = header?.map((name) => name.trim().toLowerCase());
  if (
    !names ||
    !names.includes('refresh_token') ||
    !names.includes('region') ||
    names.some((name) => !(CSV_COLUMNS as readonly string[]).includes(name)) ||
    new Set(names).size !== names.length
  ) {
    throw new ImportFileError(
      `The first line must be the header \`refresh_token,region,label\` (label optional, columns in any order); line ${headerIndex + 1} is not.`,
    );
  }
  const lines: RawLine[] = [];
  for (let index = headerIndex + 1; index < physical.length; index += 1) {
    const text = physical[index];
    if (text.trim() === '') continue;
    const line = index + 1;
    const fields = splitCsv(text);
    if (!fields || fields.length !== names.length) {
      lines.push({
        line,
        token: MALFORMED,
        region: undefined,
        label: undefined,
      });
      continue;
    }
    const value = (name: string) => fields[names.indexOf(name)];
    lines.push({
      line,
      token: value('refresh_token'),
      region: value('region'),
      label: names.includes('label') ? value('label') : undefined,
    });
  }
  return lines;
}

/** The fields of one CSV line, or undefined when its quotes are unbalanced. */
export function splitCsv(line: string): string[] | undefined {
  const fields: string[] = [];
  let index = 0;
  for (;;) {
    if (line[index] === '"') {
      let value = '';
      index += 1;
      for (;;) {
        if (index >= line.length) return undefined;
        if (line[index] === '"') {
          if (line[index + 1] === '"') {
            value += '"';
            index += 2;
            continue;
          }
          index += 1;
          break;
        }
        value += line[index];
        index += 1;
      }
      fields.push(value);
      if (index < line.length && line[index] !== ',') return undefined;
    } else {
      const end = line.indexOf(',', index);
      const value = end < 0 ? line.slice(index) : line.slice(index, end);
      if (value.includes('"')) return undefined;
      fields.push(value);
      index = end < 0 ? line.length : end;
    }
    if (index >= line.length) return fields;
    index += 1; // the comma
  }
}

/**
 * JSON: an array of `{refreshToken, region, label?}`, or what `npm run export` writes
 * (`{format: "ads-token-keeper-export", connections: [{refreshTokenFernet, region, label, …}]}`,
 * importable with `--from-key` only). Line numbers are the array's elements, from 1.
 */
function jsonLines(
  text: string,
  encrypted: boolean,
  keyName: string,
): RawLine[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ImportFileError('The import is not valid JSON.');
  }
  let items: unknown[];
  let tokenField = 'refreshToken';
  if (Array.isArray(parsed)) {
    items = parsed;
  } else if (
    isObject(parsed) &&
    parsed['format'] === EXPORT_FORMAT_NAME &&
    Array.isArray(parsed['connections'])
  ) {
    if (!encrypted)
      throw new ImportFileError(
        `This is an export of ads-token-keeper: its tokens are encrypted, import it with ${keyName} (the key it was exported with).`,
      );
    items = parsed['connections'];
    tokenField = 'refreshTokenFernet';
  } else {
    throw new ImportFileError(
      'The JSON must be an array of {"refreshToken", "region", "label"} objects (or an export of ads-token-keeper).',
    );
  }
  return items.map((item, index) =>
    isObject(item)
      ? {
          line: index + 1,
          token: item[tokenField],
          region: item['region'],
          label: item['label'],
        }
      : {
          line: index + 1,
          token: NOT_OBJECT,
          region: undefined,
          label: undefined,
        },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

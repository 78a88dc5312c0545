/**
 * Importing existing refresh tokens (`npm run import`, `POST /api/v1/connections/import`); see
 * the README, "Import and export".
 */

export const IMPORT_FORMATS = ['csv', 'json'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** The limits of one import, the same for the CLI and the endpoint. */
export const IMPORT_LIMITS = {
  /** Lines (CSV rows after the header, JSON array elements). */
  maxLines: 10_000,
  /** Bytes of the file (or of `content`). */
  maxBytes: 16 * 1024 * 1024,
  /** Bytes of the endpoint's JSON body; larger answers 413 (use `npm run import`). */
  maxBodyBytes: 8 * 1024 * 1024,
  /** Characters of one refresh token (or of its Fernet ciphertext with `fromKey`). */
  maxTokenLength: 4096,
  /** Characters of a label (as a rename allows). */
  maxLabelLength: 100,
  /** Refreshes that prove tokens at the same time. */
  concurrency: 8,
} as const;

/** `POST /api/v1/connections/import`: the file of `npm run import`, as a string. */
export interface ConnectionImportRequest {
  format: ImportFormat;
  content: string;
  /**
   * The old Fernet key (urlsafe base64 of 32 bytes): the token column then holds Fernet
   * ciphertexts (Python's `cryptography` or `npm run export`). Never logged or answered.
   */
  fromKey?: string;
}

/** One line that was not imported, and why: never a token, nor a piece of one. */
export interface ImportLineFailureDto {
  /** 1-based: the file's line for CSV (the header is line 1), the array's element for JSON. */
  line: number;
  reason: string;
}

export interface ImportSummaryDto {
  /** Lines in the input. */
  lines: number;
  imported: number;
  /** Tokens whose Amazon account already has a live connection here. */
  skipped: number;
  failed: number;
  /** Every failed line, in line order. */
  failures: ImportLineFailureDto[];
  /** The skipped lines, in line order, with the connection that was already there. */
  skippedLines: { line: number; connectionId: string }[];
}

import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type Value = number | string | null;

export interface Row {
  phase: string;
  metric: string;
  ours: Value;
  baseline?: Value;
  /** ours / baseline (for rates: above 1 is faster). */
  ratio?: number | null;
  goal?: string;
  /** true/false against the goal; null when it could not be measured; undefined: no goal. */
  pass?: boolean | null;
  note?: string;
}

export class Report {
  readonly rows: Row[] = [];
  readonly problems: { phase: string; message: string }[] = [];
  readonly unmeasured: string[] = [];
  /** Observations printed under the table (e.g. what the API logged as errors during a phase). */
  readonly notes: string[] = [];

  add(row: Row): void {
    this.rows.push(row);
  }

  /** A measured value checked against `limit`; NaN or null counts as not measured. */
  goal(
    row: Omit<Row, 'goal' | 'pass'> & { ours: Value },
    goal: string,
    ok: (value: number) => boolean,
  ): void {
    const value = typeof row.ours === 'number' ? row.ours : Number.NaN;
    this.add({ ...row, goal, pass: Number.isFinite(value) ? ok(value) : null });
  }

  problem(phase: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.problems.push({ phase, message });
    process.stderr.write(`bench: ${phase}: ${message}\n`);
  }

  table(): string {
    const header = [
      'phase',
      'metric',
      'ours',
      'baseline',
      'ratio',
      'goal',
      'result',
    ];
    const lines = this.rows.map((row) => [
      row.phase,
      row.metric,
      format(row.ours),
      format(row.baseline ?? ''),
      row.ratio === undefined || row.ratio === null
        ? ''
        : `${format(row.ratio)}×`,
      row.goal ?? '',
      row.pass === undefined
        ? ''
        : row.pass === null
          ? 'n/a'
          : row.pass
            ? 'PASS'
            : 'FAIL',
    ]);
    const widths = header.map((title, column) =>
      Math.max(title.length, ...lines.map((line) => line[column].length)),
    );
    const render = (cells: string[]) =>
      cells
        .map((cell, column) =>
          column >= 2 && column <= 4
            ? cell.padStart(widths[column])
            : cell.padEnd(widths[column]),
        )
        .join('  ')
        .trimEnd();
    return [
      render(header),
      widths.map((width) => '-'.repeat(width)).join('  '),
      ...lines.map(render),
    ].join('\n');
  }
}

export function format(value: Value | undefined): string {
  if (value === null || value === undefined) return 'n/a';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Written aside (`*.tmp`, ignored by git) and renamed, so a crash never leaves half a file. */
export async function writeJson(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(data, null, 2)}\n`);
  await rename(temporary, path);
}

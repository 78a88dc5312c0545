import type { RunningSandbox } from '@keeper/lwa-sandbox';
import type { ApiProcess, ApiSettings } from '../lib/api-process';
import type { BenchDatabase } from '../lib/database';
import type { Report } from '../lib/report';

export interface BenchOptions {
  /** Seconds of each autocannon run (a 1 s warm-up precedes it). */
  loadSeconds: number;
  /** Seconds of the idle CPU window. */
  idleSeconds: number;
  /** Flows at 100 concurrent (1,000 concurrent always runs 1,000). */
  flowsAt100: number;
  flowsAt1000: number;
  /** Connections due in the refresh phase. */
  refreshConnections: number;
  /** Skip the three-replica sweep. */
  singleReplicaOnly: boolean;
}

export interface BenchContext {
  /** The repository. */
  root: string;
  /** Where the bench's bundles are (dist/bench). */
  outDir: string;
  tempRoot: string;
  options: BenchOptions;
  report: Report;
  /** Everything measured, by phase, for latest.json. */
  raw: Record<string, unknown>;
  db: BenchDatabase;
  sandbox: RunningSandbox;
  settings: ApiSettings;
  /** A unique tag for this run's labels and account names. */
  runTag: string;
}

/** What a phase needs of a running API besides the context. */
export interface WithApi {
  api: ApiProcess;
  sessionCookie: string;
}

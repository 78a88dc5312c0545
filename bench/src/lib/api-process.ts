import { Fernet } from '@keeper/fernet';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { builtApiEnvironment, freePort } from '@keeper/test-support';
import { ManagedChild } from './child';
import { http } from './http-client';
import { metricValue, MetricSample, parseMetrics } from './metrics-text';
import { HAS_PROC, ProcSample, sampleProcess } from './proc-stats';
import { sleep } from './stats';

export interface ApiSettings {
  apiMain: string;
  tempRoot: string;
  databaseUrl: string;
  sandbox: { url: string; clientId: string; clientSecret: string };
  fernetKey: string;
  adminPassword: string;
  serviceKey: string;
}

/** Settings for a bench run: fresh random secrets, the sandbox as Amazon. */
export function freshApiSettings(
  apiMain: string,
  tempRoot: string,
  databaseUrl: string,
  sandbox: { url: string; clientId: string; clientSecret: string },
): ApiSettings {
  return {
    apiMain,
    tempRoot,
    databaseUrl,
    sandbox: {
      url: sandbox.url,
      clientId: sandbox.clientId,
      clientSecret: sandbox.clientSecret,
    },
    fernetKey: Fernet.generateKey(),
    adminPassword: `bench-${randomBytes(12).toString('base64url')}`,
    serviceKey: `bench-service-${randomBytes(24).toString('base64url')}`,
  };
}

export interface ApiStart {
  name: string;
  refreshCron: string;
  logLevel?: string;
  nodeArgs?: string[];
  startTimeoutMs?: number;
  /** More of the API's variables (say `REFRESH_CONCURRENCY`), on top of the harness's. */
  variables?: Record<string, string>;
}

/** What the API logged at warn level and above since the last `takeLog()`. */
export interface ApiLogSummary {
  warnings: number;
  errors: number;
  /** A few distinct messages (`msg: err.message`). */
  samples: string[];
}

/** `node dist/…/main.js` in a working folder of its own, configured by environment only. */
export class ApiProcess {
  private log: ApiLogSummary = { warnings: 0, errors: 0, samples: [] };

  private constructor(
    readonly name: string,
    readonly child: ManagedChild,
    readonly port: number,
    /** From spawn to the first 200 of /health/live. */
    readonly startSeconds: number,
    /** performance.now() when the process was spawned (a --cpu-prof profile starts about then). */
    readonly spawnedAt: number,
  ) {
    child.onLine((line) => this.inspect(line));
  }

  private inspect(line: string): void {
    if (!line.startsWith('{')) return;
    let entry: {
      level?: number;
      msg?: string;
      err?: { message?: string; type?: string };
    };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if ((entry.level ?? 0) < 40) return;
    if ((entry.level ?? 0) >= 50) this.log.errors += 1;
    else this.log.warnings += 1;
    const sample =
      `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`.slice(
        0,
        240,
      );
    if (this.log.samples.length < 6 && !this.log.samples.includes(sample))
      this.log.samples.push(sample);
  }

  /** Warnings and errors the API logged since the previous call. */
  takeLog(): ApiLogSummary {
    const log = this.log;
    this.log = { warnings: 0, errors: 0, samples: [] };
    return log;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid;
  }

  static async start(
    settings: ApiSettings,
    start: ApiStart,
  ): Promise<ApiProcess> {
    const port = await freePort();
    const cwd = join(settings.tempRoot, `api-${start.name}`);
    await mkdir(cwd, { recursive: true });
    const env = builtApiEnvironment({
      port,
      cwd,
      databaseUrl: settings.databaseUrl,
      sandbox: settings.sandbox,
      fernetKeys: settings.fernetKey,
      adminPassword: settings.adminPassword,
      serviceKey: settings.serviceKey,
      refreshCron: start.refreshCron,
      logLevel: start.logLevel,
    });
    const began = performance.now();
    const child = new ManagedChild(
      `api ${start.name}`,
      process.execPath,
      [...(start.nodeArgs ?? []), settings.apiMain],
      {
        cwd,
        env: { ...env, ...start.variables },
      },
    );
    const deadline = Date.now() + (start.startTimeoutMs ?? 90_000);
    for (;;) {
      if (child.hasExited) {
        throw new Error(
          `the API (${start.name}) exited during start:\n${child.output()}`,
        );
      }
      try {
        const answer = await http(`http://127.0.0.1:${port}/health/live`, {
          timeoutMs: 2_000,
        });
        if (answer.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await child.stop(2_000);
        throw new Error(
          `the API (${start.name}) did not answer /health/live within the start timeout:\n${child.output()}`,
        );
      }
      await sleep(100);
    }
    return new ApiProcess(
      start.name,
      child,
      port,
      (performance.now() - began) / 1000,
      began,
    );
  }

  async metrics(): Promise<MetricSample[]> {
    const answer = await http(`${this.url}/metrics`, { timeoutMs: 10_000 });
    if (answer.status !== 200)
      throw new Error(`/metrics answered ${answer.status}`);
    return parseMetrics(answer.body);
  }

  /** RSS and CPU: /proc on Linux, the API's own process metrics elsewhere. */
  async sample(): Promise<ProcSample | undefined> {
    if (HAS_PROC) return sampleProcess(this.pid);
    const samples = await this.metrics();
    const rss = metricValue(samples, 'atk_process_resident_memory_bytes');
    return {
      rssBytes: rss,
      peakRssBytes: Number.NaN,
      cpuSeconds: metricValue(samples, 'atk_process_cpu_seconds_total'),
      at: performance.now(),
    };
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** How a process's resource use is read: /proc on Linux, else the API's own `/metrics`. */
export const HAS_PROC = existsSync('/proc/self/stat');

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks =
        Number(
          execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(),
        ) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  /** Resident set size now, bytes. */
  rssBytes: number;
  /** Peak resident set size so far (VmHWM), bytes. */
  peakRssBytes: number;
  /** User + system CPU time so far, seconds. */
  cpuSeconds: number;
  /** When the sample was taken (performance.now() ms). */
  at: number;
}

function statFields(
  pid: number,
):
  | { ppid: number; cpuSeconds: number; reapedChildrenCpuSeconds: number }
  | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((index) =>
      Number(rest[index]),
    );
    return {
      ppid: Number(rest[1]),
      cpuSeconds: (utime + stime) / ticksPerSecond(),
      reapedChildrenCpuSeconds: (cutime + cstime) / ticksPerSecond(),
    };
  } catch {
    return undefined;
  }
}

/** RSS and CPU of one process from /proc; undefined when it is gone (or not Linux). */
export function sampleProcess(pid: number): ProcSample | undefined {
  if (!HAS_PROC) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) =>
      Number(
        new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN,
      ) * 1024;
    const stat = statFields(pid);
    if (!stat) return undefined;
    return {
      rssBytes: kb('VmRSS'),
      peakRssBytes: kb('VmHWM'),
      cpuSeconds: stat.cpuSeconds,
      at: performance.now(),
    };
  } catch {
    return undefined;
  }
}

/** `root` and every process below it. */
export function processTree(root: number): number[] {
  if (!HAS_PROC) return [];
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = statFields(Number(name));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(name));
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/**
 * CPU seconds of a process tree so far: every live process's own time plus what its exited (and
 * reaped) children used, so backends that come and go (PostgreSQL) are still counted.
 */
export function treeCpuSeconds(root: number): number {
  return processTree(root).reduce((sum, pid) => {
    const stat = statFields(pid);
    return sum + (stat ? stat.cpuSeconds + stat.reapedChildrenCpuSeconds : 0);
  }, 0);
}

/** CPU use of one process over `windowMs`, % of one core; NaN when it cannot be read. */
export async function cpuPercentOver(
  pid: number,
  windowMs: number,
): Promise<number> {
  const before = sampleProcess(pid);
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = sampleProcess(pid);
  if (!before || !after) return Number.NaN;
  return (
    ((after.cpuSeconds - before.cpuSeconds) / ((after.at - before.at) / 1000)) *
    100
  );
}

/**
 * Waits until a server has finished the work a previous load left queued (its CPU falls below
 * `percent` of a core over 250 ms), at most `maxMs`; answers how long it waited.
 */
export async function settle(
  pid: number,
  maxMs = 20_000,
  percent = 15,
): Promise<number> {
  const began = performance.now();
  while (performance.now() - began < maxMs) {
    const cpu = await cpuPercentOver(pid, 250);
    if (!(cpu >= percent)) break;
  }
  return Math.round(performance.now() - began);
}

/** Samples a process every `intervalMs` and keeps the highest RSS seen. */
export class RssWatcher {
  peakRssBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
  }

  private sample(): void {
    const sample = sampleProcess(this.pid);
    if (sample && sample.rssBytes > this.peakRssBytes)
      this.peakRssBytes = sample.rssBytes;
  }

  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peakRssBytes;
  }
}

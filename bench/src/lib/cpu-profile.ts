import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
    columnNumber: number;
  };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CostLine {
  what: string;
  ms: number;
  /** Share of the busy (non-idle) time in the window. */
  percent: number;
}

export interface ProfileSummary {
  windowMs: number;
  idleMs: number;
  busyMs: number;
  /** Self time by function (file:line mapped back to the TypeScript source for the API bundle). */
  selfByFunction: CostLine[];
  /** Self time by npm package, node module, source file or V8 category. */
  selfByPlace: CostLine[];
  /** Total (inclusive) time of the API's own functions (apps/, libs/), callees included. */
  inclusiveOwnCode: CostLine[];
}

const BASE64 =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Generated line (0-based) → [source, original line] of its first mapping, from a source map. */
function lineMap(mapPath: string): Map<number, [string, number]> {
  const map = new Map<number, [string, number]>();
  let sourceMap: { sources: string[]; mappings: string };
  try {
    sourceMap = JSON.parse(readFileSync(mapPath, 'utf8')) as typeof sourceMap;
  } catch {
    return map;
  }
  let source = 0;
  let originalLine = 0;
  sourceMap.mappings.split(';').forEach((line, generatedLine) => {
    let first = true;
    for (const segment of line.split(',')) {
      if (segment === '') continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      if (values.length >= 4) {
        source += values[1];
        originalLine += values[2];
        if (first) {
          map.set(generatedLine, [sourceMap.sources[source], originalLine]);
          first = false;
        }
      }
    }
  });
  return map;
}

const OWN_CODE = /(?:^|\/)((?:apps|libs)\/[^:]+)$/;

/**
 * Self and inclusive time from a `.cpuprofile` written by `node --cpu-prof`, only for samples
 * between `fromMs` and `toMs` after the profile started (so start-up and shutdown stay out).
 */
export function summariseProfile(
  file: string,
  root: string,
  bundle: string,
  window: { fromMs?: number; toMs?: number } = {},
  top = 25,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const lines = lineMap(`${bundle}.map`);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const labelCache = new Map<
    number,
    { name: string; place: string; own: boolean }
  >();
  const label = (id: number) => {
    let cached = labelCache.get(id);
    if (cached) return cached;
    const { functionName, url, lineNumber } = (nodes.get(id) as ProfileNode)
      .callFrame;
    const path = url.replace(/^file:\/\//, '');
    let place: string;
    let line = lineNumber + 1;
    if (url === '') place = functionName || '(native)';
    else if (url.startsWith('node:'))
      place = `node:${url.slice(5).split('/')[0]}`;
    else {
      let source = path;
      if (path === bundle) {
        const mapped = lines.get(lineNumber);
        if (mapped) {
          source = mapped[0].replace(/^webpack:\/\/[^/]*\//, '');
          line = mapped[1] + 1;
        }
      }
      const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
      place = modules
        ? modules[1]
        : (OWN_CODE.exec(source.replace(/^\.\//, 'apps/api/'))?.[1] ??
          relative(root, source));
    }
    const own = /^(apps|libs)\//.test(place);
    const name =
      url === ''
        ? `${functionName || '(anonymous)'}`
        : `${functionName || '(anonymous)'}  ${place}:${line}`;
    cached = { name, place, own };
    labelCache.set(id, cached);
    return cached;
  };

  const from = (window.fromMs ?? 0) * 1000;
  const to = (window.toMs ?? Number.POSITIVE_INFINITY) * 1000;
  const self = new Map<string, number>();
  const places = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let elapsed = 0;
  let windowUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    elapsed += delta;
    if (elapsed < from || elapsed > to) return;
    windowUs += delta;
    const leaf = label(id);
    if (leaf.name === '(idle)') {
      idleUs += delta;
      return;
    }
    self.set(leaf.name, (self.get(leaf.name) ?? 0) + delta);
    places.set(leaf.place, (places.get(leaf.place) ?? 0) + delta);
    const seen = new Set<string>();
    for (
      let node: number | undefined = id;
      node !== undefined;
      node = parent.get(node)
    ) {
      const frame = label(node);
      if (!frame.own || seen.has(frame.name)) continue;
      seen.add(frame.name);
      inclusive.set(frame.name, (inclusive.get(frame.name) ?? 0) + delta);
    }
  });
  const busyUs = windowUs - idleUs;
  const ranked = (costs: Map<string, number>) =>
    [...costs.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([what, us]) => ({
        what,
        ms: Math.round(us / 1000),
        percent: Math.round((us / busyUs) * 1000) / 10,
      }));
  return {
    windowMs: Math.round(windowUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    selfByFunction: ranked(self),
    selfByPlace: ranked(places),
    inclusiveOwnCode: ranked(inclusive),
  };
}

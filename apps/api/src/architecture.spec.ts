import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The house rules of `apps/api/src` that the README's "How the parts fit" promises, checked
 * on the source itself (spec files excluded: a test may reach anywhere).
 */
const SOURCE_ROOT = __dirname;

interface SourceFile {
  /** Path from `apps/api/src`, with forward slashes. */
  path: string;
  /** The first folder under `apps/api/src` (`.` for the files at its top). */
  folder: string;
  text: string;
}

function sourceFiles(folder = SOURCE_ROOT): SourceFile[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    if (!entry.name.endsWith('.ts') || entry.name.includes('.spec.')) return [];
    const fromRoot = relative(SOURCE_ROOT, path).split('\\').join('/');
    return [
      {
        path: fromRoot,
        folder: fromRoot.includes('/') ? fromRoot.split('/')[0] : '.',
        text: readFileSync(path, 'utf8'),
      },
    ];
  });
}

/** Folder → the other folders its files import (relative imports only). */
function folderImports(files: SourceFile[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const edges = graph.get(file.folder) ?? new Set<string>();
    graph.set(file.folder, edges);
    for (const [, specifier] of file.text.matchAll(
      /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g,
    )) {
      const target = relative(
        SOURCE_ROOT,
        resolve(SOURCE_ROOT, dirname(file.path), specifier),
      )
        .split('\\')
        .join('/');
      const folder = target.includes('/') ? target.split('/')[0] : '.';
      if (folder !== file.folder) edges.add(folder);
    }
  }
  return graph;
}

/** Strongly connected components with more than one folder: the import cycles (Tarjan). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('the API source layout', () => {
  const files = sourceFiles();

  it('reads the source (the checks below are not vacuous)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(folderImports(files).get('refresh')?.has('connections')).toBe(true);
  });

  it('has no folder that imports a folder importing it back', () => {
    expect(cycles(folderImports(files))).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself works)', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(cycles(graph)).toEqual([['a', 'b', 'c']]);
  });

  it('lets only the connections repository write SQL on the connections table', () => {
    const sqlOnConnections =
      /\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+"?connections"?\b/i;
    const writers = files
      .filter((file) => !file.path.startsWith('database/migrations/'))
      .filter((file) => sqlOnConnections.test(file.text))
      .map((file) => file.path);
    expect(writers).toEqual(['connections/connections.repository.ts']);
  });

  it('lets only the connections repository query the connection entity', () => {
    // Other folders get entities from the repository's methods, typed; they never query them.
    const queriers = files
      .filter((file) => /Repository\(\s*ConnectionEntity\b/i.test(file.text))
      .map((file) => file.path);
    expect(queriers).toEqual(['connections/connections.repository.ts']);
  });

  it('reads the key ring through injection, except inside the encrypted-column machinery', () => {
    const globalRingUsers = files
      .filter((file) => /columnKeyRing\.current\(\)/.test(file.text))
      .map((file) => file.path)
      .sort();
    expect(globalRingUsers).toEqual([
      'crypto/encrypted-column.ts',
      'crypto/encrypted-columns.subscriber.ts',
    ]);
  });

  it('writes the live statuses once', () => {
    const spelledOut = files
      // A migration is history: it stays as it ran.
      .filter((file) => !file.path.startsWith('database/migrations/'))
      .filter((file) =>
        /'active'\s*(?:,|\|\||&&)\s*(?:status\s*===\s*)?'degraded'|status\s*(?:===|!==)\s*'active'\s*(?:\|\||&&)/.test(
          file.text,
        ),
      )
      .map((file) => file.path);
    expect(spelledOut).toEqual(['connections/connection-rules.ts']);
  });
});

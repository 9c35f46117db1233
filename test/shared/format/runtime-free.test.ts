/**
 * The runtime-free entry must not reach node:* (or any bare package) through its imports, so that
 * browsers and workerd can bundle it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/shared-data.ts';

function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (graph.has(file)) continue;
    const specs = [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
    graph.set(file, specs);
    for (const s of specs) if (s.startsWith('.')) todo.push(path.resolve(path.dirname(file), s));
  }
  return graph;
}

describe('shared/format/runtime-free.ts', () => {
  it('imports only relative modules, none of them node:*', () => {
    const graph = importGraph(path.join(REPO_ROOT, 'shared', 'format', 'runtime-free.ts'));
    const external = [...graph].flatMap(([file, specs]) => specs.filter((s) => !s.startsWith('.')).map((s) => `${path.relative(REPO_ROOT, file)} -> ${s}`));
    expect(external).toEqual([]);
    expect(graph.size).toBeGreaterThan(10);
  });
});

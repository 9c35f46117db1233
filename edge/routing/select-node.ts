/**
 * Picks nodes for a request: least outstanding requests first; among equally loaded nodes, the
 * one with the highest rendezvous hash of (model, node id), so each model keeps landing on the same
 * node while load allows (model affinity: warm caches, one copy of the weights in use).
 */
import { servesModel, type NodeEntry } from './registry.ts';

/** FNV-1a, 32-bit: cheap and stable across runtimes. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function isRoutable(entry: NodeEntry, model: string): boolean {
  return (entry.status === 'up' || entry.status === 'unknown') && servesModel(entry, model) && entry.breaker.canPass();
}

/** Nodes that can take `model` now, best first; `exclude` holds ids already tried for this request. */
export function rankNodes(nodes: readonly NodeEntry[], model: string, exclude: ReadonlySet<string> = new Set()): NodeEntry[] {
  return nodes
    .filter((n) => !exclude.has(n.id) && isRoutable(n, model))
    .map((n) => ({ n, load: n.outstanding, affinity: fnv1a(`${model}\u0000${n.id}`) }))
    .sort((a, b) => a.load - b.load || b.affinity - a.affinity)
    .map((x) => x.n);
}

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

/** Affinity hashes by model, then node id: ranking runs per request, the pairs are few and fixed. */
const affinities = new Map<string, Map<string, number>>();
/** Bound on cached pairs (models are checked against the served ones before routing; this is a backstop). */
const MAX_CACHED_AFFINITIES = 4096;
let cachedAffinities = 0;

function affinity(model: string, nodeId: string): number {
  let byNode = affinities.get(model);
  let h = byNode?.get(nodeId);
  if (h !== undefined) return h;
  if (cachedAffinities >= MAX_CACHED_AFFINITIES) {
    affinities.clear();
    cachedAffinities = 0;
    byNode = undefined;
  }
  if (!byNode) affinities.set(model, (byNode = new Map()));
  byNode.set(nodeId, (h = fnv1a(`${model}\u0000${nodeId}`)));
  cachedAffinities++;
  return h;
}

const NONE_EXCLUDED: ReadonlySet<string> = new Set();

/** Nodes that can take `model` now, best first; `exclude` holds ids already tried for this request. */
export function rankNodes(nodes: readonly NodeEntry[], model: string, exclude: ReadonlySet<string> = NONE_EXCLUDED): NodeEntry[] {
  const ok = nodes.filter((n) => !exclude.has(n.id) && isRoutable(n, model));
  if (ok.length > 1) ok.sort((a, b) => a.outstanding - b.outstanding || affinity(model, b.id) - affinity(model, a.id));
  return ok;
}

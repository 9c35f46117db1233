/**
 * Which integer path (AND+popcount over planes, u8 codes in containers, table lookups over 4-bit
 * weight indices of one plane, or of plane pairs) each layer uses, from measurements: `npm run bench:wasm` times the paths per
 * (p, q, shape, M) and writes
 * path-table.json; a layer takes the entry of its (p, q, M bucket) with the nearest weight size.
 * The table is data measured on one machine; pass `pathOverride` to the engine to force a path.
 */
import table from './path-table.json' with { type: 'json' };

export type IntPath = 'planes' | 'codes' | 'lut' | 'lutpairs';
export const INT_PATHS: readonly IntPath[] = ['planes', 'codes', 'lut', 'lutpairs'];

/** Whether a path runs p-bit weights: table lookups over plane pairs need an even p. */
export function pathSupports(path: IntPath, p: number): boolean {
  return path !== 'lutpairs' || p % 2 === 0;
}

export interface PathTableEntry {
  p: number;
  q: number;
  n: number;
  k: number;
  /** 1 = decode (GEMV), else prefill batch. */
  m: number;
  best: IntPath;
}

export interface PathTable {
  machine: string;
  entries: PathTableEntry[];
}

export const MEASURED_PATHS: PathTable = table as PathTable;

/** Bit products up to this use popcounts when no measurement covers (p, q). */
const FALLBACK_MAX_PLANES_PRODUCT = 2;

export function choosePath(p: number, q: number, n: number, k: number, m: number, paths: PathTable = MEASURED_PATHS): IntPath {
  const decode = m <= 1;
  let best: PathTableEntry | undefined;
  let bestDist = Infinity;
  for (const e of paths.entries) {
    if (e.p !== p || e.q !== q || (e.m <= 1) !== decode) continue;
    const dist = Math.abs(Math.log(e.n * e.k) - Math.log(n * k));
    if (dist < bestDist) { bestDist = dist; best = e; }
  }
  if (best) return best.best;
  return p * q <= FALLBACK_MAX_PLANES_PRODUCT ? 'planes' : 'codes';
}

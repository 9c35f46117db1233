/**
 * `npm run bench:wasm -- --gemv-focus`: only the 4096x11008 GEMVs (the layer of the bandwidth
 * target), every integer path, in interleaved rounds so that load from other processes hits all
 * paths alike; medians over the rounds, with the single-thread bandwidth measured before, between
 * and after. Prints a table; writes nothing.
 */
import type { Rng } from '../../shared/util/rng.ts';
import { median } from '../../scripts/lib/bench-doc.ts';
import type { Arena } from '../src/arena.ts';
import type { Kernels } from '../src/kernels.ts';
import { INT_PATHS, pathSupports } from '../src/path-choice.ts';
import { streamBandwidthGBps, timeLinear } from './gemv-bench.ts';

const N = 4096;
const K = 11008;
const ROUNDS = 7;
const CASES: [m: number, p: number, q: number][] = [[1, 1, 8], [1, 2, 8], [1, 3, 8], [1, 4, 8], [1, 2, 4], [1, 2, 2], [2, 2, 8], [4, 2, 8]];

export function gemvFocus(kernels: Kernels, arena: Arena, rng: Rng): void {
  const bw: number[] = [streamBandwidthGBps(kernels, arena)];
  const ms = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [m, p, q] of CASES) {
      for (const path of INT_PATHS.filter((x) => pathSupports(x, p))) {
        const key = `${m}/${p}/${q}/${path}`;
        const t = timeLinear(kernels, arena, { n: N, k: K, m, p, q, groupSize: 0, path }, rng).ms;
        ms.set(key, [...(ms.get(key) ?? []), t]);
      }
    }
    if (round === (ROUNDS >> 1)) bw.push(streamBandwidthGBps(kernels, arena));
  }
  bw.push(streamBandwidthGBps(kernels, arena));
  const bwMed = median(bw);
  console.log(`GEMV ${N}x${K}, medians of ${ROUNDS} interleaved rounds (each a median of 5 samples of >= 25 ms).`);
  console.log(`Bandwidth (one thread, v128 stream read) before / mid / after: ${bw.map((b) => b.toFixed(2)).join(' / ')} GB/s (median ${bwMed.toFixed(2)}).`);
  console.log('GB/s below = bytes of p-bit weights (N*K*p/8) per second; % = of the median bandwidth.');
  console.log('');
  console.log(`| M | bits | ${INT_PATHS.join(' | ')} | best lookup vs best other |`);
  console.log(`|---|---|${INT_PATHS.map(() => '---|').join('')}---|`);
  for (const [m, p, q] of CASES) {
    const bytes = (N * K * p) / 8;
    const med = INT_PATHS.map((path) => (pathSupports(path, p) ? median(ms.get(`${m}/${p}/${q}/${path}`)!) : Infinity));
    const cells = med.map((t) => (t === Infinity ? '-' : `${t.toFixed(2)} ms, ${(bytes / (t * 1e6)).toFixed(2)} GB/s (${((100 * bytes) / (t * 1e6) / bwMed).toFixed(0)}%)`));
    const isLookup = (i: number) => INT_PATHS[i] === 'lut' || INT_PATHS[i] === 'lutpairs';
    const lookup = Math.min(...med.filter((_, i) => isLookup(i)));
    const other = Math.min(...med.filter((_, i) => !isLookup(i)));
    console.log(`| ${m} | W${p}A${q} | ${cells.join(' | ')} | ${(other / lookup).toFixed(2)}x |`);
  }
}

/**
 * Second view for the bandwidth target: the 4096x11008 W2A8 GEMV on the relaxed-SIMD build
 * (i8x16.relaxed_swizzle: a bare pshufb) next to the plain SIMD build, in one process with the
 * single-thread bandwidth. Node 20 has relaxed SIMD only behind --experimental-wasm-relaxed-simd,
 * so the benchmark runs this file in a child with that flag; it prints one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { median } from '../../scripts/lib/bench-doc.ts';
import { Rng } from '../../shared/util/rng.ts';
import { Arena } from '../src/arena.ts';
import { instantiateKernels, relaxedSimdSupported, type Kernels } from '../src/kernels.ts';
import { kernelPath, RELAXED_SIMD_KERNEL_PATH } from '../src/node.ts';
import type { IntPath } from '../src/path-choice.ts';
import { streamBandwidthGBps, timeLinear } from './gemv-bench.ts';

const N = 4096;
const K = 11008;
const ROUNDS = 3;
const PATHS: IntPath[] = ['lut', 'lutpairs'];

export interface RelaxedView {
  relaxed: boolean;
  bandwidthGBps: number;
  /** Median ms per build ('plain' | 'relaxed') and path. */
  ms: Record<string, number>;
}

async function load(file: string): Promise<{ kernels: Kernels; arena: Arena }> {
  const module = await WebAssembly.compile(await readFile(file));
  const kernels = await instantiateKernels(module, 'simd', new WebAssembly.Memory({ initial: 256, maximum: 65536 }));
  return { kernels, arena: new Arena(kernels.memory, kernels.exports.heapBase()) };
}

export async function relaxedView(): Promise<RelaxedView> {
  if (!relaxedSimdSupported()) return { relaxed: false, bandwidthGBps: 0, ms: {} };
  const builds = { plain: await load(kernelPath('simd')), relaxed: await load(RELAXED_SIMD_KERNEL_PATH) };
  const rng = new Rng(5);
  const bw: number[] = [];
  const times = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    bw.push(streamBandwidthGBps(builds.plain.kernels, builds.plain.arena));
    for (const [name, b] of Object.entries(builds)) {
      for (const path of PATHS) {
        const t = timeLinear(b.kernels, b.arena, { n: N, k: K, m: 1, p: 2, q: 8, groupSize: 0, path }, rng).ms;
        times.set(`${name} ${path}`, [...(times.get(`${name} ${path}`) ?? []), t]);
      }
    }
  }
  bw.push(streamBandwidthGBps(builds.plain.kernels, builds.plain.arena));
  return { relaxed: true, bandwidthGBps: median(bw), ms: Object.fromEntries([...times].map(([k, v]) => [k, median(v)])) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  relaxedView().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exitCode = 1; });
}

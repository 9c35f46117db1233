/**
 * Times one linear layer on the kernels: a quantized layer on a given path (random planes: speed
 * does not depend on the values) or the f32 matmul, for M tokens. Also measures the memory bandwidth
 * a single WASM thread reaches (v128 stream read), the yardstick of the GEMV figures.
 */
import { Rng } from '../../shared/util/rng.ts';
import type { PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import type { Arena } from '../src/arena.ts';
import { DenseLinearWasm } from '../src/dense-linear.ts';
import type { Kernels } from '../src/kernels.ts';
import { QuantLinear, type LinearPath } from '../src/quant-linear.ts';
import { allocWorkspace } from '../src/workspace.ts';
import { splitRange, type ParallelRunner } from '../src/parallel.ts';
import type { IntPath } from '../src/path-choice.ts';
import { timeMs } from './timing.ts';

export interface LinearCase { n: number; k: number; m: number; p: number; q: number; groupSize: number; path: LinearPath | 'f32'; parallel?: ParallelRunner }
export interface LinearTiming { ms: number; weightBytes: number }

/** Bit planes of uniformly random codes (zero past K, as the format requires). */
export function randomPackedWeights(rng: Rng, n: number, k: number, p: number, groupSize: number): PackedWeights {
  const wd = Math.ceil(k / 32);
  const planes = new Uint32Array(p * n * wd);
  for (let i = 0; i < planes.length; i++) planes[i] = rng.nextU32();
  const tail = k % 32;
  if (tail) for (let r = 0; r < p * n; r++) planes[r * wd + wd - 1] &= (1 << tail) - 1;
  const gs = groupSize <= 0 ? k : groupSize;
  const groups = Math.ceil(k / gs);
  const scales = new Float32Array(n * groups).fill(0.01);
  const zeros = new Uint8Array(n * groups).fill(1 << (p - 1));
  return { n, k, bits: p, groupSize: gs, planes, scales, zeros };
}

export function timeLinear(kernels: Kernels, arena: Arena, c: LinearCase, rng: Rng): LinearTiming {
  const mark = arena.used;
  try {
    const x = arena.put(rng.fillNormal(new Float32Array(c.m * c.k)));
    const y = arena.alloc(c.m * c.n * 4);
    if (c.path === 'f32') {
      const w = arena.alloc(c.n * c.k * 4);
      arena.f32(w, c.n * c.k).fill(0.01);
      const lin = new DenseLinearWasm(kernels, arena, c.n, c.k, w);
      return { ms: timeMs(() => lin.forward(x, c.m, y)), weightBytes: lin.weightBytes };
    }
    const weights = randomPackedWeights(rng, c.n, c.k, c.p, c.groupSize);
    const lin = new QuantLinear(kernels, arena, { weights, actBits: c.q, actGroupSize: 0, path: c.path === 'a16' ? 'codes' : c.path, parallel: c.parallel });
    const ws = allocWorkspace(arena, { maxM: c.m, maxK: c.k, maxAccPerRow: lin.accPerRow, maxGroups: lin.groups });
    return { ms: timeMs(() => lin.forward(x, c.m, y, ws)), weightBytes: lin.weightBytes };
  } finally {
    arena.release(mark);
  }
}

/** Time to repack canonical planes into a path's layout, in GB/s of plane bytes. */
export function repackGBps(kernels: Kernels, arena: Arena, n: number, k: number, p: number, path: IntPath, rng: Rng): number {
  const weights = randomPackedWeights(rng, n, k, p, 0);
  const ms = timeMs(() => {
    const mark = arena.used;
    new QuantLinear(kernels, arena, { weights, actBits: 8, actGroupSize: 0, path });
    arena.release(mark);
  }, 3);
  return weights.planes.byteLength / (ms * 1e6);
}

/** Single-thread read bandwidth of WASM linear memory (GB/s), over a buffer far larger than caches. */
export function streamBandwidthGBps(kernels: Kernels, arena: Arena, bytes = 256 << 20): number {
  const mark = arena.used;
  const p = arena.alloc(bytes);
  arena.u8(p, bytes).fill(1);
  const ms = timeMs(() => { kernels.exports.streamRead(p, bytes); });
  arena.release(mark);
  return bytes / (ms * 1e6);
}

/** Stream reads move whole 64-byte lines per loop step. */
const STREAM_CHUNK = 64;

/**
 * Read bandwidth of `pool.threads` threads reading disjoint parts of one buffer at once (GB/s), the
 * yardstick of the multithreaded GEMV rows. `kernels` must be the shared-memory build the pool runs.
 */
export function streamBandwidthThreadsGBps(kernels: Kernels, arena: Arena, pool: ParallelRunner, bytes = 256 << 20): number {
  const mark = arena.used;
  const p = arena.alloc(bytes);
  arena.u8(p, bytes).fill(1);
  const chunks = bytes / STREAM_CHUNK;
  const tasks = splitRange(chunks, pool.threads).map(([a, b]) => ({ kernel: 'streamRead' as const, args: [p + a * STREAM_CHUNK, (b - a) * STREAM_CHUNK] }));
  const ms = timeMs(() => pool.run(tasks));
  arena.release(mark);
  return bytes / (ms * 1e6);
}

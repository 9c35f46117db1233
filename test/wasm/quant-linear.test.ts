/**
 * Integer accumulators of the WASM kernels against the TypeScript reference (shared/numerics), bit
 * for bit, for every (p, q) in 1..8 x 1..8, on fresh random inputs with ragged K, M and N and
 * several group sizes; outputs within float rounding; SIMD and scalar builds identical.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { packBitPlanes } from '../../shared/format/bitplanes.ts';
import { quantizeActivationsRef } from '../../shared/numerics/act-quant.ts';
import { bitGemmAccRef, bitGemmEpilogueRef, codeGemmAccRef, weightCodeSums } from '../../shared/numerics/bitgemm-ref.ts';
import type { PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import { Rng } from '../../shared/util/rng.ts';
import { INT_PATHS, pathSupports } from '../../wasm/src/path-choice.ts';
import { QuantLinear } from '../../wasm/src/quant-linear.ts';
import { allocWorkspace, codeStrideFor } from '../../wasm/src/workspace.ts';
import { FLAVORS, kernelEnv, type KernelEnv } from './kernel-env.ts';

const BITS = [1, 2, 3, 4, 5, 6, 7, 8];
const PATHS = INT_PATHS;
/** The integer paths that run p-bit weights (lutpairs: even p only). */
const pathsFor = (p: number) => PATHS.filter((path) => pathSupports(path, p));
/** Ragged shapes: K not a multiple of 32 or 128, N not a multiple of 4, M > 1. */
const SHAPES = [
  { m: 1, n: 5, k: 45, group: 0, actGroup: 0 },
  { m: 3, n: 7, k: 160, group: 32, actGroup: 64 },
  { m: 2, n: 9, k: 200, group: 64, actGroup: 0 },
  { m: 5, n: 4, k: 291, group: 96, actGroup: 192 },
  // Two 16-row blocks with a partial one, K off the 16-column step, M past one lookup-table batch.
  { m: 6, n: 37, k: 328, group: 32, actGroup: 0 },
];

function randomWeights(rng: Rng, n: number, k: number, p: number, groupSize: number): { w: PackedWeights; codes: Uint8Array } {
  const gs = groupSize <= 0 ? k : groupSize;
  const groups = Math.ceil(k / gs);
  const codes = new Uint8Array(n * k);
  for (let i = 0; i < codes.length; i++) codes[i] = rng.int(0, (1 << p) - 1);
  const scales = new Float32Array(n * groups);
  const zeros = new Uint8Array(n * groups);
  for (let i = 0; i < scales.length; i++) {
    scales[i] = Math.fround(0.001 + rng.next() * 0.05);
    zeros[i] = rng.int(0, (1 << p) - 1);
  }
  return { w: { n, k, bits: p, groupSize: gs, planes: packBitPlanes(codes, n, k, p), scales, zeros }, codes };
}

function randomActs(rng: Rng, m: number, k: number): Float32Array {
  const x = new Float32Array(m * k);
  for (let i = 0; i < x.length; i++) x[i] = (rng.next() < 0.02 ? 8 : 1) * rng.normal() + (i % 7 === 0 ? 0.5 : 0);
  return x;
}

describe('QuantLinear integer paths vs shared/numerics reference', () => {
  const envs: Record<string, KernelEnv> = {};
  beforeAll(async () => {
    for (const f of FLAVORS) envs[f] = await kernelEnv(f);
  });

  for (const p of BITS) {
    it(`W${p}A1..A8: accumulators bit-exact on every integer path (${pathsFor(p).join(', ')}), both builds`, () => {
      const rng = new Rng(1000 + p);
      for (const q of BITS) {
        for (const s of SHAPES) {
          const { w, codes: wCodes } = randomWeights(rng, s.n, s.k, p, s.group);
          const x = randomActs(rng, s.m, s.k);
          const gs = w.groupSize;
          const groups = Math.ceil(s.k / gs);
          const ag = s.actGroup || s.k;
          const actGroups = Math.ceil(s.k / ag);
          const qa = quantizeActivationsRef(x, s.m, s.k, q, ag, gs);
          const accRef = codeGemmAccRef(qa.codes, wCodes, s.m, s.n, s.k, gs);
          if (s === SHAPES[1]) {
            // The literal popcount formula, on one shape per pair (it is slow): same integers.
            expect(bitGemmAccRef(packBitPlanes(qa.codes, s.m, s.k, q), q, w.planes, p, s.m, s.n, s.k, gs)).toEqual(accRef);
          }
          const yRef = bitGemmEpilogueRef(accRef, qa, { scales: w.scales, zeros: w.zeros, sums: weightCodeSums(wCodes, s.n, s.k, gs) }, s.m, s.n, s.k, gs);
          const outs: Float32Array[] = [];
          for (const flavor of FLAVORS) {
            for (const path of pathsFor(p)) {
              const { kernels, arena } = envs[flavor];
              const mark = arena.used;
              const lin = new QuantLinear(kernels, arena, { weights: w, actBits: q, actGroupSize: s.actGroup, path });
              const ws = allocWorkspace(arena, { maxM: s.m, maxK: s.k, maxAccPerRow: lin.accPerRow, maxGroups: groups });
              const xPtr = arena.put(x);
              const yPtr = arena.alloc(s.m * s.n * 4);
              lin.forward(xPtr, s.m, yPtr, ws);
              const tag = `${flavor} ${path} W${p}A${q} m${s.m} n${s.n} k${s.k} g${s.group}`;
              // Activation quantization: codes, scales, zeros, sums exactly as the reference.
              const stride = codeStrideFor(s.k);
              const codes = arena.u8(ws.codes, s.m * stride);
              for (let r = 0; r < s.m; r++) {
                expect(codes.subarray(r * stride, r * stride + s.k), tag).toEqual(qa.codes.subarray(r * s.k, (r + 1) * s.k));
              }
              expect(arena.f32(ws.scales, s.m * actGroups), tag).toEqual(qa.scales);
              expect(Array.from(arena.i32(ws.zeros, s.m * actGroups)), tag).toEqual(Array.from(qa.zeros));
              expect(Array.from(arena.u32(ws.sums, s.m * groups)), tag).toEqual(Array.from(qa.sums));
              const acc = arena.u32(ws.acc, s.m * groups * lin.nPad);
              expect(acc.some((v) => v !== 0), `${tag}: accumulators all zero`).toBe(true);
              for (let r = 0; r < s.m; r++) {
                for (let c = 0; c < s.n; c++) {
                  for (let g = 0; g < groups; g++) {
                    const got = acc[(r * groups + g) * lin.nPad + c];
                    const want = accRef[(r * s.n + c) * groups + g];
                    if (got !== want) expect(got, `${tag} acc[${r},${c},${g}]`).toBe(want);
                  }
                }
              }
              const y = arena.f32(yPtr, s.m * s.n).slice();
              for (let i = 0; i < y.length; i++) {
                const tol = 1e-5 * (Math.abs(yRef[i]) + 1) ;
                if (Math.abs(y[i] - yRef[i]) > tol) expect(y[i], `${tag} y[${i}]`).toBeCloseTo(yRef[i], 5);
              }
              outs.push(y);
              arena.release(mark);
            }
          }
          // The scalar twins give the same floats as the SIMD kernels (same operations in the same order).
          const np = pathsFor(p).length;
          for (let i = 0; i < np; i++) expect(outs[np + i]).toEqual(outs[i]);
        }
      }
    });
  }

  it('worst-case codes (all at their maximum) never overflow the narrow accumulators, for every (p, q)', () => {
    const k = 4100; // 129 words and 65 crumb vectors: many flushes of the u8 and u16 lanes
    const n = 5;
    for (const p of BITS) {
      const codes = new Uint8Array(n * k).fill((1 << p) - 1);
      const w: PackedWeights = { n, k, bits: p, groupSize: k, planes: packBitPlanes(codes, n, k, p), scales: new Float32Array(n).fill(1), zeros: new Uint8Array(n) };
      const x = new Float32Array(k).fill(1.5);
      for (const q of BITS) {
        const want = (k * ((1 << p) - 1) * ((1 << q) - 1)) >>> 0;
        for (const flavor of FLAVORS) {
          for (const path of pathsFor(p)) {
            const { kernels, arena } = envs[flavor];
            const mark = arena.used;
            const lin = new QuantLinear(kernels, arena, { weights: w, actBits: q, actGroupSize: 0, path });
            const ws = allocWorkspace(arena, { maxM: 1, maxK: k, maxAccPerRow: lin.accPerRow, maxGroups: 1 });
            lin.forward(arena.put(x), 1, arena.alloc(n * 4), ws);
            expect(Array.from(arena.u32(ws.acc, n)), `${flavor} ${path} W${p}A${q}`).toEqual(new Array(n).fill(want));
            arena.release(mark);
          }
        }
      }
    }
  });

  it('the plane-pair lookup path refuses odd weight bit widths with a message that names the fix', () => {
    const { kernels, arena } = envs.simd;
    const { w } = randomWeights(new Rng(7), 8, 64, 3, 0);
    expect(() => new QuantLinear(kernels, arena, { weights: w, actBits: 8, actGroupSize: 0, path: 'lutpairs' })).toThrow(/even weight bit width, got 3 bits: use the lut/);
  });
});

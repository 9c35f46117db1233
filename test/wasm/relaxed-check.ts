/**
 * Test helper: runs both table-lookup paths of the relaxed-SIMD build (kernels-simd-relaxed.wasm)
 * for every (p, q) on ragged shapes and compares the accumulators with shared/numerics. Used in
 * process where the engine has relaxed SIMD, else in a child `node --experimental-wasm-relaxed-simd`
 * (Node 20), which runs this file and prints the result as one JSON line.
 */
import { readFile } from 'node:fs/promises';
import { packBitPlanes } from '../../shared/format/bitplanes.ts';
import { quantizeActivationsRef } from '../../shared/numerics/act-quant.ts';
import { codeGemmAccRef } from '../../shared/numerics/bitgemm-ref.ts';
import { Rng } from '../../shared/util/rng.ts';
import { Arena } from '../../wasm/src/arena.ts';
import { instantiateKernels, relaxedSimdSupported } from '../../wasm/src/kernels.ts';
import { RELAXED_SIMD_KERNEL_PATH } from '../../wasm/src/node.ts';
import { pathSupports } from '../../wasm/src/path-choice.ts';
import { QuantLinear } from '../../wasm/src/quant-linear.ts';
import { allocWorkspace } from '../../wasm/src/workspace.ts';

const SHAPES = [
  { m: 1, n: 37, k: 328, group: 32 },
  { m: 5, n: 9, k: 1500, group: 0 },
];
const LOOKUP_PATHS = ['lut', 'lutpairs'] as const;

export interface RelaxedCheck { relaxed: boolean; cases: number; mismatches: string[] }

export async function checkRelaxedLookups(): Promise<RelaxedCheck> {
  if (!relaxedSimdSupported()) return { relaxed: false, cases: 0, mismatches: [] };
  const module = await WebAssembly.compile(await readFile(RELAXED_SIMD_KERNEL_PATH));
  const kernels = await instantiateKernels(module, 'simd', new WebAssembly.Memory({ initial: 64, maximum: 65536 }));
  const arena = new Arena(kernels.memory, kernels.exports.heapBase());
  const rng = new Rng(77);
  const mismatches: string[] = [];
  let cases = 0;
  for (let p = 1; p <= 8; p++) {
    for (let q = 1; q <= 8; q++) {
      for (const s of SHAPES) {
        const gs = s.group || s.k;
        const groups = Math.ceil(s.k / gs);
        const codes = new Uint8Array(s.n * s.k).map(() => rng.int(0, (1 << p) - 1));
        const weights = { n: s.n, k: s.k, bits: p, groupSize: gs, planes: packBitPlanes(codes, s.n, s.k, p),
          scales: new Float32Array(s.n * groups).fill(0.01), zeros: new Uint8Array(s.n * groups).fill(1) };
        const x = rng.fillNormal(new Float32Array(s.m * s.k));
        const want = codeGemmAccRef(quantizeActivationsRef(x, s.m, s.k, q, s.k, gs).codes, codes, s.m, s.n, s.k, gs);
        for (const path of LOOKUP_PATHS.filter((x) => pathSupports(x, p))) {
          const mark = arena.used;
          const lin = new QuantLinear(kernels, arena, { weights, actBits: q, actGroupSize: 0, path });
          const ws = allocWorkspace(arena, { maxM: s.m, maxK: s.k, maxAccPerRow: lin.accPerRow, maxGroups: groups });
          lin.forward(arena.put(x), s.m, arena.alloc(s.m * s.n * 4), ws);
          const acc = arena.u32(ws.acc, s.m * lin.accPerRow);
          let bad = 0;
          for (let r = 0; r < s.m; r++) for (let c = 0; c < s.n; c++) for (let g = 0; g < groups; g++) {
            if (acc[(r * groups + g) * lin.nPad + c] !== want[(r * s.n + c) * groups + g]) bad++;
          }
          if (bad) mismatches.push(`${path} W${p}A${q} m${s.m} n${s.n} k${s.k}: ${bad} accumulators differ`);
          cases++;
          arena.release(mark);
        }
      }
    }
  }
  return { relaxed: true, cases, mismatches };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  checkRelaxedLookups().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exitCode = 1; });
}

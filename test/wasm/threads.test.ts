/**
 * Worker threads sharing the engine's memory (Node): a split GEMM gives the same accumulators as
 * one thread and as the reference; an engine built on the shared-memory build gives the same tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { packBitPlanes } from '../../shared/format/bitplanes.ts';
import { quantizeActivationsRef } from '../../shared/numerics/act-quant.ts';
import { codeGemmAccRef } from '../../shared/numerics/bitgemm-ref.ts';
import { Rng } from '../../shared/util/rng.ts';
import { Arena } from '../../wasm/src/arena.ts';
import { createWasmEngine } from '../../wasm/src/engine.ts';
import { instantiateKernels } from '../../wasm/src/kernels.ts';
import { loadKernelModule, threadedEngineOptions, WASM_BUILD_DIR } from '../../wasm/src/node.ts';
import { INT_PATHS, pathSupports } from '../../wasm/src/path-choice.ts';
import { PARALLEL_MIN_WEIGHTS, QuantLinear } from '../../wasm/src/quant-linear.ts';
import { rtnModel } from '../../wasm/src/rtn-model-source.ts';
import { ThreadPool } from '../../wasm/src/thread-pool.ts';
import { allocWorkspace } from '../../wasm/src/workspace.ts';
import { SHARED_DIR } from '../helpers/shared-data.ts';
import { storiesFloats } from './stories-fixture.ts';
import { packedSource, syntheticFloatModel } from '../../wasm/bench/engine-bench.ts';

describe('thread pool over a shared memory', () => {
  let pool: ThreadPool;
  let arena: Arena;
  let kernels: Awaited<ReturnType<typeof instantiateKernels>>;
  beforeAll(async () => {
    const module = await WebAssembly.compile(await readFile(`${WASM_BUILD_DIR}kernels-simd-mt.wasm`));
    const memory = Arena.createMemory(64 << 20, true);
    kernels = await instantiateKernels(module, 'simd', memory);
    arena = new Arena(memory, kernels.exports.heapBase());
    pool = await ThreadPool.create(module, memory, 3, kernels.exports as unknown as Record<string, (...a: number[]) => unknown>);
  });
  afterAll(async () => { await pool?.close(); });

  for (const [p, q] of [[2, 8], [4, 4], [1, 1], [8, 8]]) {
    it(`W${p}A${q}: split over 3 threads, every integer path, equals one thread and the reference`, () => {
      const rng = new Rng(p * 10 + q);
      const n = 301, k = 480, m = 2; // 301 rows: uneven split; n*k above the parallel threshold
      expect(n * k).toBeGreaterThanOrEqual(PARALLEL_MIN_WEIGHTS);
      const codes = new Uint8Array(n * k).map(() => rng.int(0, (1 << p) - 1));
      const weights = { n, k, bits: p, groupSize: 96, planes: packBitPlanes(codes, n, k, p),
        scales: new Float32Array(n * 5).fill(0.01), zeros: new Uint8Array(n * 5).fill(1) };
      const x = rng.fillNormal(new Float32Array(m * k));
      const want = codeGemmAccRef(quantizeActivationsRef(x, m, k, q, k, 96).codes, codes, m, n, k, 96);
      for (const path of INT_PATHS.filter((path) => pathSupports(path, p))) {
        const results: Float32Array[] = [];
        for (const parallel of [undefined, pool]) {
          const mark = arena.used;
          const lin = new QuantLinear(kernels, arena, { weights, actBits: q, actGroupSize: 0, path, parallel });
          const ws = allocWorkspace(arena, { maxM: m, maxK: k, maxAccPerRow: lin.accPerRow, maxGroups: lin.groups });
          const y = arena.alloc(m * n * 4);
          lin.forward(arena.put(x), m, y, ws);
          const acc = arena.u32(ws.acc, m * lin.accPerRow);
          for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) for (let g = 0; g < 5; g++) {
            const got = acc[(r * 5 + g) * lin.nPad + c];
            if (got !== want[(r * n + c) * 5 + g]) expect(got, `${path} ${parallel ? 'pool' : 'single'} [${r},${c},${g}]`).toBe(want[(r * n + c) * 5 + g]);
          }
          results.push(arena.f32(y, m * n).slice());
          arena.release(mark);
        }
        expect(results[1]).toEqual(results[0]);
      }
    });
  }
});

(SHARED_DIR ? it : it.skip)('an engine on 2 threads (shared-memory build) gives the single-thread tokens on stories260K', async () => {
  const { config, float } = storiesFloats();
  const { source } = rtnModel(config, float, { wbits: 4, abits: 8, groupSize: 0 });
  const single = await createWasmEngine({ model: source, kernels: { simd: (await loadKernelModule('simd')).module }, maxSeq: 64 });
  const threaded = await createWasmEngine({ model: source, maxSeq: 64, ...(await threadedEngineOptions(2)) });
  try {
    expect(threaded.threads).toBe(2);
    expect(Array.from(threaded.forwardAll([1, 20, 30, 40]))).toEqual(Array.from(single.forwardAll([1, 20, 30, 40])));
  } finally {
    await threaded.close();
  }
});

it('decode on 2 threads splits the f32 lm_head and still gives the single-thread logits bit for bit', async () => {
  // vocab 4096 x hidden 64 = 262,144 weights: above the split threshold, so decode's lm_head runs on both threads.
  const model = syntheticFloatModel('small-vocab (synthetic)', { hidden: 64, intermediate: 172, layers: 2, heads: 4, kvHeads: 4, vocab: 4096, maxPositions: 64, tied: true });
  const source = packedSource(model, { wbits: 4, abits: 8, groupSize: 0 });
  const single = await createWasmEngine({ model: source, kernels: { simd: (await loadKernelModule('simd')).module }, maxSeq: 32 });
  const threaded = await createWasmEngine({ model: source, maxSeq: 32, ...(await threadedEngineOptions(2)) });
  try {
    single.prefill([1, 2, 3]);
    threaded.prefill([1, 2, 3]);
    for (const token of [7, 4000, 12, 99]) {
      expect(Array.from(threaded.decode(token))).toEqual(Array.from(single.decode(token)));
    }
  } finally {
    await threaded.close();
  }
});

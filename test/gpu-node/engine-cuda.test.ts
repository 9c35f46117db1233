/**
 * The CUDA engine's TypeScript side, without a GPU: the batch flattening the addon reads, the model
 * description built from a real packed folder (what would be uploaded), result mapping, and the
 * error a machine without the addon gets. The native side is checked on the GPU machine
 * (scripts/gpu/engine-check.ts) and compiled in CI by build.test.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CudaBatchEngine, flattenBatch, SEQ_INTS, SEQ_SAMPLING } from '../../gpu-node/src/cuda-engine.ts';
import { createCudaBackend } from '../../gpu-node/src/engine.ts';
import { resetCudaBackendForTests } from '../../gpu-node/src/load-cuda-backend.ts';
import type { NativeEngineAddon, NativeEngineBatch, NativeEngineModel, NativeEngineOptions } from '../../gpu-node/src/native.ts';
import type { StepSampling } from '../../gpu-node/engine/batch-engine.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const W4A8 = path.join(ROOT, 'models/stories260K-w4a8');
const GREEDY: StepSampling = { temperature: 0, topK: 0, topP: 1, uniform: 0, logprob: false };

/** Records what the engine hands the addon; steps answer token 100 + row, logprob -row. */
function fakeAddon() {
  const calls: { model?: NativeEngineModel; options?: NativeEngineOptions; batches: NativeEngineBatch[]; closed: number } = { batches: [], closed: 0 };
  const addon: NativeEngineAddon = {
    async createEngine(model, options) { calls.model = model; calls.options = options; return {} as never; },
    engineInfo: () => ({
      numBlocks: 7, blockSize: 16, maxBatchTokens: 512, maxSeqs: 8, maxLogitRows: 512, maxBlocksPerSeq: 32, contextLength: 512,
      vocab: 512, description: 'fake', weightStreamBytes: 1, graphsCaptured: 0,
      memory: { weightBytes: 10, kvBytes: 20, workspaceBytes: 30, deviceFreeBytes: 40, deviceTotalBytes: 50 },
    }),
    async engineStep(_h, batch) {
      calls.batches.push(batch);
      const rows = batch.sampling.filter((_, i) => i % SEQ_SAMPLING === 0 && batch.sampling[i] === 1).length;
      return {
        tokens: Int32Array.from({ length: rows }, (_, r) => 100 + r),
        logprobs: Float32Array.from({ length: rows }, (_, r) => -r),
        logits: batch.allLogits ? new Float32Array(batch.tokens.length * 512) : undefined,
        graphed: false,
      };
    },
    closeEngine() { calls.closed++; },
  };
  return { addon, calls };
}

afterEach(() => {
  delete process.env.ABQ_GPU_ADDON;
  resetCudaBackendForTests();
});

describe('flattenBatch', () => {
  it('lays out tokens, tables, per-sequence ints and sampling in batch order', () => {
    const b = flattenBatch([
      { seqId: 4, tokens: Int32Array.of(1, 2, 3), position: 0, blockTable: Int32Array.of(5), sample: null },
      { seqId: 9, tokens: Int32Array.of(7), position: 20, blockTable: Int32Array.of(1, 2), sample: { temperature: 0.5, topK: 3, topP: 0.9, uniform: 0.25, logprob: true } },
    ]);
    expect(Array.from(b.tokens)).toEqual([1, 2, 3, 7]);
    expect(Array.from(b.tables)).toEqual([5, 1, 2]);
    expect(Array.from(b.seqs)).toEqual([0, 3, 0, 0, 1, 3, 1, 20, 1, 2]);
    expect(b.seqs.length).toBe(2 * SEQ_INTS);
    expect(Array.from(b.sampling)).toEqual([0, 0, 0, 0, 0, 0, 1, 0.5, 3, 0.9, 0.25, 1]);
  });

  it('rejects empty batches, empty sequences and out-of-range sampling, naming the sequence', () => {
    expect(() => flattenBatch([])).toThrow(/batch is empty/);
    expect(() => flattenBatch([{ seqId: 3, tokens: new Int32Array(0), position: 0, blockTable: Int32Array.of(0), sample: null }])).toThrow(/sequence 3 has no tokens/);
    expect(() => flattenBatch([{ seqId: 5, tokens: Int32Array.of(1), position: 0, blockTable: Int32Array.of(0), sample: { ...GREEDY, uniform: 1 } }])).toThrow(/sequence 5 has invalid sampling/);
    expect(() => flattenBatch([{ seqId: 6, tokens: Int32Array.of(1), position: 0, blockTable: Int32Array.of(0), sample: { ...GREEDY, topK: 1.5 } }])).toThrow(/sequence 6/);
  });
});

describe('CudaBatchEngine over a fake addon', () => {
  it('describes the packed stories260K W4A8 folder: packed linears, f32 norms/embedding, tied lm_head', async () => {
    const { addon, calls } = fakeAddon();
    const engine = await CudaBatchEngine.load(W4A8, { modelId: 's', addon, maxSeqs: 8, maxBatchTokens: 512 });
    const m = calls.model!;
    expect(m.config).toMatchObject({ dim: 64, layers: 5, heads: 8, kvHeads: 4, headDim: 8, ffn: 172, vocab: 512, contextLength: 512 });
    expect(m.invFreq.length).toBe(4);
    expect(m.invFreq[0]).toBe(1);
    expect(m.embed.length).toBe(512 * 64);
    const q = m.layers[0].q;
    expect(q.kind).toBe('packed');
    if (q.kind === 'packed') {
      expect([q.n, q.k, q.wbits, q.abits, q.groupSize]).toEqual([64, 64, 4, 8, 32]);
      expect(q.planes.length).toBe(4 * 64 * 2);
      expect(q.scales.length).toBe(64 * 2);
    }
    expect(m.layers[4].down).toMatchObject({ kind: 'packed', n: 64, k: 172 });
    expect(m.lmHead.kind).toBe('f32');
    if (m.lmHead.kind === 'f32') expect(m.lmHead.dense).toBe(m.embed);  // tied, as the reference
    expect(calls.options?.maxLogitRows).toBe(512);
    expect(calls.options?.kvF32).toBe(true);  // a small model: f32 KV by default (F32_KV_BELOW_HIDDEN)
    expect(engine.info).toMatchObject({ backend: 'cuda', modelId: 's', numBlocks: 7, blockSize: 16, maxSeqs: 8, vocabSize: 512 });
    expect(engine.info.memory.totalBytes).toBe(60);
    await engine.close();
  });

  it('maps results to the sampled sequences only, with log-probabilities where asked', async () => {
    const { addon, calls } = fakeAddon();
    const engine = await CudaBatchEngine.load(W4A8, { modelId: 's', addon });
    const res = await engine.step([
      { seqId: 1, tokens: Int32Array.of(1, 2), position: 0, blockTable: Int32Array.of(0), sample: null },
      { seqId: 2, tokens: Int32Array.of(3), position: 5, blockTable: Int32Array.of(1), sample: GREEDY },
      { seqId: 3, tokens: Int32Array.of(4), position: 9, blockTable: Int32Array.of(2), sample: { ...GREEDY, logprob: true } },
    ]);
    expect(res).toEqual([{ seqId: 2, token: 100 }, { seqId: 3, token: 101, logprob: -1 }]);
    const logits = await engine.logits(Int32Array.of(1, 2, 3), 0, Int32Array.of(0));
    expect(logits.length).toBe(3 * 512);
    expect(calls.batches[1].allLogits).toBe(true);
    await engine.close();
    expect(calls.closed).toBe(1);
    await expect(engine.step([])).rejects.toThrow(/closed/);
  });
});

describe('createCudaBackend without a GPU', () => {
  it('fails with the loader\'s reason after validating the folder', async () => {
    process.env.ABQ_GPU_ADDON = path.join(ROOT, 'gpu-node/build/definitely-missing.node');
    resetCudaBackendForTests();
    await expect(createCudaBackend(W4A8, 's')).rejects.toThrow(/^CUDA backend unavailable: native addon not built/);
  });

  it('rejects a folder that is not a packed model before looking for a GPU', async () => {
    await expect(createCudaBackend(path.join(ROOT, 'gpu-node'), 's')).rejects.toThrow(/config\.json|model\.safetensors|ENOENT/);
  });
});

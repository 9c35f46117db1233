/**
 * The CUDA engine behind the scheduler's BatchEngine contract (gpu-node/engine/batch-engine.ts).
 * Loading reads and validates the packed folder with shared/format (through the reference loader)
 * BEFORE any GPU memory is touched; without a usable GPU it fails with load-cuda-backend's reason.
 * Each step is flattened into typed arrays and run by the addon on a worker thread.
 *
 * @example
 *   const engine = await CudaBatchEngine.load('models/stories260K-w4a8', { modelId: 'stories' });
 *   const [r] = await engine.step([{ seqId: 1, tokens: Int32Array.of(1, 403), position: 0, blockTable: Int32Array.of(0), sample: greedy }]);
 */
import type { BatchEngine, EngineInfo, SeqResult, SeqStep } from '../engine/batch-engine.ts';
import { loadPackedLlama } from '../../shared/quant/load-packed.ts';
import { engineModelFrom } from './engine-model.ts';
import { requireCudaBackend } from './load-cuda-backend.ts';
import type { NativeEngineAddon, NativeEngineBatch, NativeEngineHandle, NativeEngineInfo, NativeEngineOptions } from './native.ts';

/**
 * Below this hidden size the KV cache is kept in f32 (attention in f64) by default: for such models it
 * costs nothing (stories260K: 1.3 KB per token) and keeps tokens equal to the reference's, which the
 * fp16 cache does not (on stories260K, head_dim 8, fp16 keys shift perplexity by up to 0.36%).
 */
export const F32_KV_BELOW_HIDDEN = 1024;

export const SEQ_INTS = 5;
export const SEQ_SAMPLING = 6;

export interface CudaEngineOptions extends NativeEngineOptions {
  modelId: string;
  /** For tests: an addon object instead of the loaded native module. */
  addon?: NativeEngineAddon;
}

/** Flattens a batch into the addon's arrays (validation of ranges happens natively, naming the value). */
export function flattenBatch(batch: SeqStep[], allLogits = false): NativeEngineBatch {
  if (batch.length === 0) throw new RangeError('step: the batch is empty');
  let tokenCount = 0, tableCount = 0;
  for (const s of batch) {
    if (!(s.tokens instanceof Int32Array) || s.tokens.length < 1) throw new RangeError(`step: sequence ${s.seqId} has no tokens`);
    tokenCount += s.tokens.length;
    tableCount += s.blockTable.length;
  }
  const tokens = new Int32Array(tokenCount);
  const tables = new Int32Array(tableCount);
  const seqs = new Int32Array(batch.length * SEQ_INTS);
  const sampling = new Float64Array(batch.length * SEQ_SAMPLING);
  let t = 0, b = 0;
  batch.forEach((s, i) => {
    tokens.set(s.tokens, t);
    tables.set(s.blockTable, b);
    seqs.set([t, s.tokens.length, s.position, b, s.blockTable.length], i * SEQ_INTS);
    const p = s.sample;
    if (p) {
      if (!(p.temperature >= 0) || !Number.isInteger(p.topK) || p.topK < 0 || !(p.topP > 0 && p.topP <= 1) || !(p.uniform >= 0 && p.uniform < 1)) {
        throw new RangeError(`step: sequence ${s.seqId} has invalid sampling ${JSON.stringify(p)} (temperature >= 0, integer topK >= 0, topP in (0, 1], uniform in [0, 1))`);
      }
      sampling.set([1, p.temperature, p.topK, p.topP, p.uniform, p.logprob ? 1 : 0], i * SEQ_SAMPLING);
    }
    t += s.tokens.length;
    b += s.blockTable.length;
  });
  return { tokens, seqs, sampling, tables, allLogits };
}

export class CudaBatchEngine implements BatchEngine {
  readonly info: EngineInfo;
  private closed = false;
  /** Steps that ran as a CUDA graph replay (decode buckets already captured). */
  graphedSteps = 0;

  private constructor(private readonly addon: NativeEngineAddon, private handle: NativeEngineHandle, native: NativeEngineInfo, modelId: string) {
    const m = native.memory;
    this.info = {
      backend: 'cuda', modelId, vocabSize: native.vocab, contextLength: native.contextLength,
      blockSize: native.blockSize, numBlocks: native.numBlocks, maxBatchTokens: native.maxBatchTokens, maxSeqs: native.maxSeqs,
      memory: {
        totalBytes: m.weightBytes + m.kvBytes + m.workspaceBytes, weightBytes: m.weightBytes, kvBytes: m.kvBytes,
        workspaceBytes: m.workspaceBytes, deviceFreeBytes: m.deviceFreeBytes, deviceTotalBytes: m.deviceTotalBytes,
      },
      description: native.description,
    };
  }

  /** Reads + validates the packed folder, then uploads it to the GPU. */
  static async load(dir: string, opts: CudaEngineOptions): Promise<CudaBatchEngine> {
    const { config, model } = await loadPackedLlama(dir, 'integer');
    const addon = opts.addon ?? requireCudaBackend();
    const desc = engineModelFrom(config, model, opts.modelId);
    const { modelId: _id, addon: _a, ...native } = opts;
    const handle = await addon.createEngine(desc, {
      ...native,
      maxLogitRows: native.maxLogitRows ?? native.maxBatchTokens,
      kvF32: native.kvF32 ?? config.hiddenSize < F32_KV_BELOW_HIDDEN,
    });
    return new CudaBatchEngine(addon, handle, addon.engineInfo(handle), opts.modelId);
  }

  /** Details only the CUDA engine has (bytes streamed per decode step, graphs captured). */
  nativeInfo(): NativeEngineInfo {
    this.assertOpen('nativeInfo');
    return this.addon.engineInfo(this.handle);
  }

  async step(batch: SeqStep[]): Promise<SeqResult[]> {
    this.assertOpen('step');
    const r = await this.addon.engineStep(this.handle, flattenBatch(batch));
    if (r.graphed) this.graphedSteps++;
    const out: SeqResult[] = [];
    let row = 0;
    for (const s of batch) {
      if (!s.sample) continue;
      const res: SeqResult = { seqId: s.seqId, token: r.tokens[row] };
      if (s.sample.logprob) res.logprob = r.logprobs[row];
      out.push(res);
      row++;
    }
    return out;
  }

  /** Logits of every token of one sequence's chunk ([tokens][vocab]); appends them to its KV blocks (perplexity). */
  async logits(tokens: Int32Array, position: number, blockTable: Int32Array): Promise<Float32Array> {
    this.assertOpen('logits');
    const r = await this.addon.engineStep(this.handle, flattenBatch([{ seqId: 0, tokens, position, blockTable, sample: null }], true));
    if (!r.logits) throw new Error('logits: the addon returned no logits');
    return r.logits;
  }

  release(_seqId: number): void {
    // No per-sequence state: the KV blocks belong to the scheduler's allocator.
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.addon.closeEngine(this.handle);
  }

  private assertOpen(op: string): void {
    if (this.closed) throw new Error(`CudaBatchEngine.${op}: the engine is closed`);
  }
}

/**
 * A BatchEngine over an in-process StepModel (the WASM engine, the f32 reference): what the node's
 * scheduler drives on machines without a GPU and in CI.
 *
 * Each sequence gets its own StepSession (its own KV cache), created at its first step and dropped
 * on release(). The KV blocks here are logical: the scheduler does the block accounting exactly as
 * for the CUDA engine, and this engine checks each step's block table against it (covering, in
 * range) so accounting bugs surface in CI. A step runs its sequences one after another, yielding to
 * the event loop between them, and samples with shared/model/sampling.ts's algorithm driven by the
 * scheduler's `uniform`.
 */
import type { StepModel, StepSession } from '../../edge/backends/local-model.ts';
import { logProbOf, yieldToEventLoop } from '../../edge/backends/local-model.ts';
import { sampleWithUniform } from '../../shared/model/sampling.ts';
import type { BatchEngine, EngineInfo, EngineMemory, SeqResult, SeqStep } from './batch-engine.ts';

export const DEFAULT_BLOCK_SIZE = 16;
/** Sequences one step may carry; also how many sessions (WASM engines, each a copy of the weights) exist at once. */
export const DEFAULT_MAX_SEQS = 4;
export const DEFAULT_MAX_BATCH_TOKENS = 512;

export interface StepModelEngineOptions {
  backend: 'wasm' | 'reference';
  modelId: string;
  blockSize?: number;
  /** Default: enough for maxSeqs sequences of the model's full context. */
  numBlocks?: number;
  maxBatchTokens?: number;
  maxSeqs?: number;
  memory?: Partial<EngineMemory>;
  description?: string;
  /** Frees what the model holds (WASM engines) when the engine closes. */
  onClose?: () => Promise<void>;
}

interface LiveSession {
  session: StepSession;
  /** Tokens in the session's cache; each step must start here. */
  position: number;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} ${v} must be a positive integer`);
  return v;
}

export function createStepModelEngine(model: StepModel, opts: StepModelEngineOptions): BatchEngine {
  const blockSize = positiveInt(opts.blockSize ?? DEFAULT_BLOCK_SIZE, 'blockSize');
  const maxSeqs = positiveInt(opts.maxSeqs ?? DEFAULT_MAX_SEQS, 'maxSeqs');
  const numBlocks = positiveInt(opts.numBlocks ?? maxSeqs * Math.ceil(model.contextLength / blockSize), 'numBlocks');
  const maxBatchTokens = positiveInt(opts.maxBatchTokens ?? DEFAULT_MAX_BATCH_TOKENS, 'maxBatchTokens');
  const memory: EngineMemory = { totalBytes: 0, weightBytes: 0, kvBytes: 0, workspaceBytes: 0, ...opts.memory };
  if (!opts.memory?.totalBytes) memory.totalBytes = memory.weightBytes + memory.kvBytes + memory.workspaceBytes;
  const info: EngineInfo = {
    backend: opts.backend,
    modelId: opts.modelId,
    vocabSize: model.vocabSize,
    contextLength: model.contextLength,
    blockSize,
    numBlocks,
    maxBatchTokens,
    maxSeqs,
    memory,
    description: opts.description ?? `${opts.backend} step model, sequences run one after another`,
  };
  const sessions = new Map<number, LiveSession>();
  let closed = false;

  const checkStep = (s: SeqStep, live: LiveSession | undefined) => {
    const at = live?.position ?? 0;
    if (s.position !== at) throw new Error(`sequence ${s.seqId}: step at position ${s.position}, but its cache holds ${at} tokens (release() it to start over)`);
    if (s.tokens.length < 1) throw new Error(`sequence ${s.seqId}: a step needs at least one token`);
    const end = s.position + s.tokens.length;
    if (end > model.contextLength) throw new RangeError(`sequence ${s.seqId}: position ${end} passes the context length ${model.contextLength}`);
    if (s.blockTable.length * blockSize < end) throw new Error(`sequence ${s.seqId}: block table of ${s.blockTable.length} blocks covers ${s.blockTable.length * blockSize} positions, fewer than ${end}`);
    for (const b of s.blockTable) if (!(b >= 0 && b < numBlocks)) throw new Error(`sequence ${s.seqId}: block id ${b} is outside [0, ${numBlocks})`);
  };

  return {
    info,

    async step(batch: SeqStep[]): Promise<SeqResult[]> {
      if (closed) throw new Error('step after close()');
      if (batch.length > maxSeqs) throw new Error(`batch of ${batch.length} sequences exceeds maxSeqs ${maxSeqs}`);
      const tokens = batch.reduce((n, s) => n + s.tokens.length, 0);
      if (tokens > maxBatchTokens) throw new Error(`batch of ${tokens} tokens exceeds maxBatchTokens ${maxBatchTokens}`);
      const results: SeqResult[] = [];
      for (let i = 0; i < batch.length; i++) {
        const s = batch[i];
        let live = sessions.get(s.seqId);
        checkStep(s, live);
        if (!live) {
          live = { session: await model.newSession(model.contextLength), position: 0 };
          sessions.set(s.seqId, live);
        }
        const logits = live.session.forward(Array.from(s.tokens));
        live.position += s.tokens.length;
        if (s.sample) {
          const token = sampleWithUniform(logits, s.sample, s.sample.uniform);
          results.push(s.sample.logprob ? { seqId: s.seqId, token, logprob: logProbOf(logits, token) } : { seqId: s.seqId, token });
        }
        if (i + 1 < batch.length) await yieldToEventLoop();
      }
      return results;
    },

    release(seqId: number): void {
      const live = sessions.get(seqId);
      if (!live) return;
      sessions.delete(seqId);
      live.session.dispose?.();
    },

    async close(): Promise<void> {
      closed = true;
      for (const id of [...sessions.keys()]) this.release(id);
      await opts.onClose?.();
    },
  };
}

/**
 * A deterministic BatchEngine for scheduler tests. Its "model": the logits after a sequence's
 * tokens depend only on those tokens (a hash), so a sequence recomputed after preemption, or run
 * in any batch composition, gives the same tokens. It checks what a real paged engine relies on:
 * each step starts where the sequence's cache ends, the block table covers the positions, and no
 * block is used by two live sequences. It records every batch, and steps can be held open
 * (`hold()`) or made to fail (`failWhen`).
 */
import type { BatchEngine, EngineInfo, SeqResult, SeqStep } from '../../../gpu-node/engine/batch-engine.ts';
import { logProbOf } from '../../../edge/backends/local-model.ts';
import { sampleWithUniform } from '../../../shared/model/sampling.ts';

export const FAKE_VOCAB = 64;

export interface FakeEngineOptions {
  numBlocks?: number;
  blockSize?: number;
  maxBatchTokens?: number;
  maxSeqs?: number;
  contextLength?: number;
  /** Throw from step() when this returns true for a step of the batch. */
  failWhen?: (s: SeqStep) => boolean;
}

export interface RecordedStep {
  seqId: number;
  position: number;
  count: number;
  sample: boolean;
}

function logitsFor(history: readonly number[]): Float32Array {
  let h = 0x811c9dc5;
  for (const t of history) h = Math.imul(h ^ (t + 1), 0x01000193) >>> 0;
  const out = new Float32Array(FAKE_VOCAB);
  for (let i = 0; i < FAKE_VOCAB; i++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    out[i] = (h % 1000) / 100;
  }
  return out;
}

export class FakeEngine implements BatchEngine {
  readonly info: EngineInfo;
  readonly batches: RecordedStep[][] = [];
  readonly released: number[] = [];
  closed = false;
  private readonly history = new Map<number, number[]>();
  private readonly blockOwner = new Map<number, number>();
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(private readonly opts: FakeEngineOptions = {}) {
    this.info = {
      backend: 'reference',
      modelId: 'fake',
      vocabSize: FAKE_VOCAB,
      contextLength: opts.contextLength ?? 256,
      blockSize: opts.blockSize ?? 4,
      numBlocks: opts.numBlocks ?? 64,
      maxBatchTokens: opts.maxBatchTokens ?? 64,
      maxSeqs: opts.maxSeqs ?? 8,
      memory: { totalBytes: 1000, weightBytes: 600, kvBytes: 300, workspaceBytes: 100 },
      description: 'fake engine for scheduler tests',
    };
  }

  /** Later steps wait until the returned function is called. */
  hold(): () => void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
    return () => {
      this.gate = undefined;
      this.openGate?.();
    };
  }

  /** The fake model's logits after `history`. */
  static logits(history: readonly number[]): Float32Array {
    return logitsFor(history);
  }

  /** Tokens the engine would generate greedily after `prompt`, computed without batching. */
  static greedy(prompt: readonly number[], n: number): number[] {
    const seq = prompt.slice();
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = sampleWithUniform(logitsFor(seq), { temperature: 0, topK: 0, topP: 1 }, 0);
      out.push(t);
      seq.push(t);
    }
    return out;
  }

  async step(batch: SeqStep[]): Promise<SeqResult[]> {
    if (this.closed) throw new Error('step after close');
    await this.gate;
    await new Promise((r) => setImmediate(r)); // a real engine's step is asynchronous
    this.batches.push(batch.map((s) => ({ seqId: s.seqId, position: s.position, count: s.tokens.length, sample: s.sample !== null })));
    const total = batch.reduce((n, s) => n + s.tokens.length, 0);
    if (total > this.info.maxBatchTokens) throw new Error(`batch of ${total} tokens > maxBatchTokens`);
    if (batch.length > this.info.maxSeqs) throw new Error(`batch of ${batch.length} sequences > maxSeqs`);
    if (this.opts.failWhen && batch.some(this.opts.failWhen)) throw new Error('injected engine failure');
    const results: SeqResult[] = [];
    for (const s of batch) {
      const h = this.history.get(s.seqId) ?? [];
      if (s.position !== h.length) throw new Error(`seq ${s.seqId}: step at ${s.position}, cache holds ${h.length}`);
      if (s.blockTable.length * this.info.blockSize < s.position + s.tokens.length) throw new Error(`seq ${s.seqId}: block table too short`);
      for (const b of s.blockTable) {
        const owner = this.blockOwner.get(b);
        if (owner !== undefined && owner !== s.seqId) throw new Error(`block ${b} used by seq ${s.seqId} and seq ${owner}`);
        this.blockOwner.set(b, s.seqId);
      }
      h.push(...s.tokens);
      this.history.set(s.seqId, h);
      if (s.sample) {
        const logits = logitsFor(h);
        const token = sampleWithUniform(logits, s.sample, s.sample.uniform);
        results.push(s.sample.logprob ? { seqId: s.seqId, token, logprob: logProbOf(logits, token) } : { seqId: s.seqId, token });
      }
    }
    return results;
  }

  release(seqId: number): void {
    this.released.push(seqId);
    this.history.delete(seqId);
    for (const [b, owner] of this.blockOwner) if (owner === seqId) this.blockOwner.delete(b);
  }

  /** Sequences holding engine state now. */
  get live(): number {
    return this.history.size;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

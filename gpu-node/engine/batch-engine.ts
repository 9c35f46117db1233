/**
 * The contract between the node's scheduler (TypeScript: continuous batching, paged-KV admission,
 * cancellation; scheduler.ts) and an engine that runs one forward step over a batch of sequences:
 * the CUDA engine (gpu-node/src/cuda-engine.ts) and, for machines without a GPU and for CI, an
 * adapter over the in-process step models (WASM engine, f32 reference; step-model-engine.ts).
 *
 * KV memory is paged. The engine owns `numBlocks` blocks of `blockSize` token positions each (one
 * block id covers that range of positions in every layer). The scheduler allocates blocks and gives
 * each sequence a block table: block `blockTable[i]` holds positions [i * blockSize, (i + 1) * blockSize).
 *
 * One step runs, for each sequence in the batch, `tokens` at positions `position ..`: a prompt chunk
 * (chunked prefill) or the one token sampled last. Where `sample` is set, the engine samples the next
 * token from the logits after the last of `tokens`. Sampling is deterministic given `uniform`, which
 * the scheduler draws from the request's seeded RNG (shared/util/rng.ts, one draw per sampled token),
 * so the same seed gives the same tokens on every backend and whatever the batch composition.
 */

export interface StepSampling {
  /** 0 = greedy (argmax, first index on ties). */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** In [0, 1): the draw used to pick among the kept candidates (ignored when greedy). */
  uniform: number;
  /** Also return the log-probability of the chosen token (log softmax of the raw logits, before temperature). */
  logprob: boolean;
}

export interface SeqStep {
  /** Scheduler-assigned, unique among live sequences. */
  seqId: number;
  /** Tokens to append to the sequence's KV cache and run. Length >= 1. */
  tokens: Int32Array;
  /** Position of tokens[0] (= tokens already in the cache for this sequence). */
  position: number;
  /** Block ids covering positions [0, position + tokens.length), in order. */
  blockTable: Int32Array;
  /** Sample after the last token; null for a prompt chunk that is not the prompt's last. */
  sample: StepSampling | null;
}

export interface SeqResult {
  seqId: number;
  token: number;
  logprob?: number;
}

export interface EngineMemory {
  /** Device (or process) memory planned at load, in bytes. */
  totalBytes: number;
  weightBytes: number;
  kvBytes: number;
  workspaceBytes: number;
  /** Free device memory reported by the driver after planning (CUDA only). */
  deviceFreeBytes?: number;
  deviceTotalBytes?: number;
}

export interface EngineInfo {
  backend: 'cuda' | 'wasm' | 'reference';
  modelId: string;
  vocabSize: number;
  /** Longest sequence (prompt + generated) the engine accepts. */
  contextLength: number;
  blockSize: number;
  numBlocks: number;
  /** Most tokens one step may carry (sum of tokens.length over the batch). */
  maxBatchTokens: number;
  /** Most sequences one step may carry. */
  maxSeqs: number;
  memory: EngineMemory;
  /** Free-form description for /health (kernel plan, quantization config). */
  description?: string;
}

export interface BatchEngine {
  readonly info: EngineInfo;
  /**
   * Runs one step. Resolves with one result per sequence whose step had `sample` set, in batch order.
   * Long work must not block the event loop (CUDA: the addon runs it on a worker thread).
   * Rejects with an Error naming the operation on failure; the engine stays usable.
   */
  step(batch: SeqStep[]): Promise<SeqResult[]>;
  /** The sequence finished, was cancelled or preempted: engines with per-sequence state drop it. */
  release(seqId: number): void;
  /** Frees everything; no step may follow. */
  close(): Promise<void>;
}

/** What the scheduler reports for /health and /metrics. */
export interface SchedulerStats {
  running: number;
  queued: number;
  freeBlocks: number;
  totalBlocks: number;
  preemptions: number;
  draining: boolean;
}

/**
 * The native addon's surface (gpu-node/csrc/addon.cc), as the loader hands it out.
 * Handles are opaque; every GPU call returns a promise and runs off the event loop.
 */
export interface CudaDeviceInfo {
  count: number;
  name: string;
  computeCapability: string;
  smCount: number;
  totalMemoryBytes: number;
  runtimeVersion: number;
  driverVersion: number;
}

export interface NativeLinearSpec {
  n: number;
  k: number;
  wbits: number;
  /** <= 0 or >= K: per channel. */
  groupSize: number;
  /** 1..8, or 16 for weight-only. */
  abits: number;
  /** <= 0 or >= K: per token. */
  actGroup: number;
}

/** Activation quantization and integer accumulators, returned when forward() is asked to debug. */
export interface NativeForwardDebug {
  wordsPad: number;
  /** u32 [q][M][wordsPad] */
  actPlanes: Uint32Array;
  actScales: Float32Array;
  actZeros: Uint8Array;
  actSums: Uint32Array;
  /** u32 [M][N][G] */
  acc: Uint32Array;
}

export interface NativeForwardResult {
  /** fp16 bits [M][N] */
  y: Uint16Array;
  plan: string;
  debug?: NativeForwardDebug;
}

declare const handleBrand: unique symbol;
export type NativeLayerHandle = { readonly [handleBrand]: true };

export interface NativeAddon extends NativeEngineAddon {
  deviceInfo(): CudaDeviceInfo;
  createLinear(spec: NativeLinearSpec, planes: Uint32Array, scales: Float32Array, zeros: Uint8Array,
    bias: Float32Array | null): Promise<NativeLayerHandle>;
  forward(handle: NativeLayerHandle, x: Uint16Array, m: number, debug: boolean): Promise<NativeForwardResult>;
  planName(handle: NativeLayerHandle, m: number): string;
  dispose(handle: NativeLayerHandle): void;
}

// ---- The inference engine (gpu-node/csrc/engine/engine-addon.cc) ----

export interface NativeEngineConfig {
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  vocab: number;
  rmsEps: number;
  contextLength: number;
}

/** One linear layer: packed bit planes (abq::Linear), or dense f32 / fp16 (bits) weights [N][K]. */
export type NativeEngineLinear =
  | { kind: 'packed'; n: number; k: number; wbits: number; groupSize: number; abits: number; actGroup: number;
      planes: Uint32Array; scales: Float32Array; zeros: Uint8Array; bias?: Float32Array | null }
  | { kind: 'f32'; n: number; k: number; dense: Float32Array; bias?: Float32Array | null }
  | { kind: 'f16'; n: number; k: number; dense: Uint16Array; bias?: Float32Array | null };

export interface NativeEngineLayer {
  inputNorm: Float32Array;
  postNorm: Float32Array;
  q: NativeEngineLinear; k: NativeEngineLinear; v: NativeEngineLinear; o: NativeEngineLinear;
  gate: NativeEngineLinear; up: NativeEngineLinear; down: NativeEngineLinear;
}

export interface NativeEngineModel {
  config: NativeEngineConfig;
  /** RoPE inverse frequencies [headDim / 2] (shared/model/rope.ts ropeInvFreqFor). */
  invFreq: Float64Array;
  embed: Float32Array;
  finalNorm: Float32Array;
  layers: NativeEngineLayer[];
  lmHead: NativeEngineLinear;
  description?: string;
}

export interface NativeEngineOptions {
  blockSize?: number;
  /** 0 or absent: planned from kvMemoryFraction of the memory left after weights and workspaces. */
  numBlocks?: number;
  kvMemoryFraction?: number;
  maxBatchTokens?: number;
  maxSeqs?: number;
  /** Rows of logits a step may return whole (allLogits); default maxSeqs. */
  maxLogitRows?: number;
  kvF32?: boolean;
  graphs?: boolean;
}

export interface NativeEngineInfo {
  numBlocks: number;
  blockSize: number;
  maxBatchTokens: number;
  maxSeqs: number;
  maxLogitRows: number;
  maxBlocksPerSeq: number;
  contextLength: number;
  vocab: number;
  description: string;
  weightStreamBytes: number;
  graphsCaptured: number;
  memory: { weightBytes: number; kvBytes: number; workspaceBytes: number; deviceFreeBytes: number; deviceTotalBytes: number };
}

/** A step, flattened: seqs holds [tokenStart, tokenCount, position, tableStart, tableLen] per sequence,
 * sampling [sample 0/1, temperature, topK, topP, uniform, logprob 0/1] per sequence. */
export interface NativeEngineBatch {
  tokens: Int32Array;
  seqs: Int32Array;
  sampling: Float64Array;
  tables: Int32Array;
  allLogits?: boolean;
}

export interface NativeEngineStepResult {
  /** One per sequence with sample = 1, batch order. */
  tokens: Int32Array;
  /** Same rows; NaN where not asked. */
  logprobs: Float32Array;
  /** allLogits: [tokens][vocab]. */
  logits?: Float32Array;
  graphed: boolean;
}

declare const engineBrand: unique symbol;
export type NativeEngineHandle = { readonly [engineBrand]: true };

export interface NativeEngineAddon {
  createEngine(model: NativeEngineModel, options: NativeEngineOptions): Promise<NativeEngineHandle>;
  engineInfo(handle: NativeEngineHandle): NativeEngineInfo;
  engineStep(handle: NativeEngineHandle, batch: NativeEngineBatch): Promise<NativeEngineStepResult>;
  closeEngine(handle: NativeEngineHandle): void;
}

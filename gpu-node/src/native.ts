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

export interface NativeAddon {
  deviceInfo(): CudaDeviceInfo;
  createLinear(spec: NativeLinearSpec, planes: Uint32Array, scales: Float32Array, zeros: Uint8Array,
    bias: Float32Array | null): Promise<NativeLayerHandle>;
  forward(handle: NativeLayerHandle, x: Uint16Array, m: number, debug: boolean): Promise<NativeForwardResult>;
  planName(handle: NativeLayerHandle, m: number): string;
  dispose(handle: NativeLayerHandle): void;
}

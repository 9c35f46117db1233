/**
 * Loads the kernel module into one WebAssembly.Memory. Runtime-free (Node, browsers, workerd): the
 * caller passes a compiled WebAssembly.Module or its bytes; node.ts reads the build from disk.
 *
 * Two builds share one ABI (wasm/assembly/kernels-{simd,scalar}.ts): the SIMD one where the engine
 * validates SIMD, else the scalar twins. The choice is made once, here.
 */

/** The kernel ABI: pointers are byte offsets into `memory`. */
export interface KernelExports {
  heapBase(): number;
  quantizeActs(x: number, m: number, k: number, bits: number, actGroup: number, sumGroup: number,
    codes: number, codeStride: number, scales: number, zeros: number, sums: number): void;
  packActPlanes(codes: number, m: number, k: number, codeStride: number, bits: number, planes: number): void;
  bitGemm(p: number, q: number, xPlanes: number, tiles: number, acc: number, m: number, nTiles: number,
    wd: number, groupWords: number, groups: number, nPad: number): number;
  codeGemm(c: number, p: number, q: number, xCodes: number, codeStride: number, wCodes: number, acc: number,
    m: number, n: number, vecsPerRow: number, groupVecs: number, groups: number, nPad: number): number;
  /** Table-lookup path (layout.ts section 4): per-token tables, then the GEMV over 16-row blocks. */
  lutTables(xCodes: number, codeStride: number, m: number, chunks: number, tables: number, tableStride: number): void;
  lutGemm(p: number, q: number, tables: number, tableStride: number, wLut: number, acc: number, m: number,
    nBlocks: number, cpPad: number, groupCps: number, groups: number, nPad: number, rows: number): number;
  repackToLut(planes: number, p: number, n: number, wd: number, cpPad: number, out: number): void;
  /** Table-lookup path over plane pairs (layout.ts section 5; even p): same tables, 8-row blocks. */
  lutPairsGemm(p: number, q: number, tables: number, tableStride: number, wPairs: number, acc: number, m: number,
    nBlocks: number, cpPad: number, groupCps: number, groups: number, nPad: number, rows: number): number;
  repackToLutPairs(planes: number, p: number, n: number, wd: number, cpPad: number, out: number): void;
  a16Gemm(c: number, x: number, xStride: number, wCodes: number, wScales: number, wZeros: number, bias: number,
    out: number, m: number, n: number, vecsPerRow: number, groupVecs: number, groups: number, nPad: number): number;
  epilogue(acc: number, m: number, n: number, nPad: number, k: number, groupSize: number, groups: number,
    actScales: number, actZeros: number, actGroupSize: number, actSums: number,
    wScales: number, wZeros: number, wSums: number, bias: number, out: number): void;
  repackToTiles(planes: number, p: number, n: number, wd: number, tiles: number): void;
  repackToContainers(planes: number, p: number, n: number, k: number, wd: number, c: number, vecsPerRow: number,
    out: number, scratch: number): void;
  weightSums(planes: number, p: number, n: number, wd: number, groupWords: number, groups: number, nPad: number, out: number): void;
  matmulF32(x: number, m: number, k: number, w: number, n: number, bias: number, out: number): void;
  rmsNorm(x: number, w: number, out: number, m: number, dim: number, eps: number): void;
  addInPlace(a: number, b: number, len: number): void;
  swiglu(gate: number, up: number, out: number, len: number): void;
  ropeRotateHalf(x: number, m: number, rowStride: number, nHeads: number, headDim: number, cosTab: number, sinTab: number, pos0: number): void;
  attention(q: number, out: number, m: number, pos0: number, nHeads: number, nKv: number, headDim: number,
    kCache: number, vCache: number, scores: number): void;
  embedRows(table: number, tokens: number, m: number, dim: number, out: number): void;
  argmax(x: number, n: number): number;
  /** Benchmark helper: reads `bytes` (multiple of 64) and returns a checksum. */
  streamRead(ptr: number, bytes: number): number;
}

export type KernelFlavor = 'simd' | 'scalar';
export type KernelSource = WebAssembly.Module | BufferSource;

/** Smallest module using a v128 instruction: validates only where WASM SIMD is supported. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** Smallest module using i8x16.relaxed_swizzle: validates only where relaxed SIMD is on. */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 0, 253, 15, 65, 0, 253, 15,
  253, 128, 2, 11,
]);

/** Relaxed SIMD (on by default from V8 11.4: Node 22, Chromium 114; Node 20 needs --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  try {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

export interface Kernels {
  readonly flavor: KernelFlavor;
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
}

export async function instantiateKernels(source: KernelSource, flavor: KernelFlavor, memory: WebAssembly.Memory): Promise<Kernels> {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { flavor, exports: instance.exports as unknown as KernelExports, memory };
}

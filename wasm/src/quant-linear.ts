/**
 * One quantized linear layer on the WASM kernels: repacks the file's bit planes once at load
 * (into the layout of the path chosen for it), then runs
 *   planes: quantize activations -> pack planes -> AND+popcount GEMM -> group epilogue
 *   codes:  quantize activations -> u8 code GEMM over 2/4/8-bit containers -> group epilogue
 *   lut:    quantize activations -> per-token nibble tables -> table-lookup GEMV over 4-bit weight indices -> group epilogue
 *   lutpairs: as lut, the indices of two planes side by side (8 rows per v128; even p only)
 *   a16:    f32 activations times on-the-fly dequantized containers (weight-only)
 * Layouts: wasm/assembly/layout.ts.
 */
import type { PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import type { Arena } from './arena.ts';
import type { Kernels } from './kernels.ts';
import { checkWorkspace, codeStrideFor, LUT_BATCH, lutTableStrideFor, type Workspace } from './workspace.ts';
import { splitRange, type ParallelRunner, type ParallelTask } from './parallel.ts';

export const A16_BITS = 16;
/** Layers with fewer weights than this run on one thread (a thread hand-off costs microseconds). */
export const PARALLEL_MIN_WEIGHTS = 1 << 17;
export type LinearPath = 'planes' | 'codes' | 'lut' | 'lutpairs' | 'a16';
/** Output rows per table-lookup block (layout.ts LUT_ROWS), and per plane-pair block (LUT_PAIR_ROWS). */
const LUT_ROWS = 16;
const LUT_PAIR_ROWS = 8;
const CONTAINERS = [2, 4, 8] as const;

export interface QuantLinearSpec {
  weights: PackedWeights;
  /** Activation bits 1..8, or 16 for weight-only. */
  actBits: number;
  /** Activation group size; 0 or >= K means per token. */
  actGroupSize: number;
  /** Integer path; ignored (a16) when actBits is 16. */
  path: 'planes' | 'codes' | 'lut' | 'lutpairs';
  /** Worker threads sharing the memory (Node); the integer GEMM's rows are split over them. */
  parallel?: ParallelRunner;
}

/** Smallest byte container (2, 4, 8 bits) that holds p-bit codes and whose vectors tile the group. */
export function containerBits(p: number, k: number, groupSize: number): 2 | 4 | 8 {
  if (groupSize < k && groupSize % 32 !== 0) throw new RangeError(`weight group size ${groupSize} must be a multiple of 32 or K=${k}`);
  for (const c of CONTAINERS) {
    if (c >= p && (groupSize >= k || groupSize % (128 / c) === 0)) return c;
  }
  throw new RangeError(`no container for ${p}-bit weights with group size ${groupSize} (must be a multiple of 32 or K=${k})`);
}

export class QuantLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly path: LinearPath;
  readonly groups: number;
  readonly nPad: number;
  private readonly actGroup: number;
  private readonly wd: number;
  private readonly groupWords: number;
  private readonly container: 2 | 4 | 8;
  private readonly vecsPerRow: number;
  private readonly groupVecs: number;
  /** lut path: 8-column pairs per row (K padded to 16) and per weight group. */
  private readonly cpPad: number;
  private readonly groupCps: number;
  private readonly wBuf: number;
  private readonly wScales: number;
  private readonly wZeros: number;
  private readonly wSums: number;
  private readonly bias: number;

  constructor(private readonly kernels: Kernels, arena: Arena, readonly spec: QuantLinearSpec) {
    const { n, k, bits: p, groupSize } = spec.weights;
    const gs = groupSize <= 0 || groupSize >= k ? k : groupSize;
    if (gs !== k && gs % 32 !== 0) throw new RangeError(`weight group size ${groupSize} must be a multiple of 32 or K=${k}`);
    this.inFeatures = k;
    this.outFeatures = n;
    this.path = spec.actBits === A16_BITS ? 'a16' : spec.path;
    if (this.path === 'lutpairs' && p % 2 !== 0) {
      throw new RangeError(`the lutpairs path needs an even weight bit width, got ${p} bits: use the lut, codes or planes path`);
    }
    this.actGroup = spec.actGroupSize <= 0 || spec.actGroupSize >= k ? k : spec.actGroupSize;
    if (this.path !== 'a16' && this.actGroup !== k && this.actGroup % gs !== 0) {
      throw new RangeError(`activation group ${spec.actGroupSize} must be K=${k} or a multiple of the weight group ${gs}`);
    }
    this.groups = Math.ceil(k / gs);
    this.nPad = Math.ceil(n / 4) * 4;
    this.wd = Math.ceil(k / 32);
    this.groupWords = gs === k ? this.wd : gs / 32;
    this.container = containerBits(p, k, gs);
    const elems = 128 / this.container;
    this.vecsPerRow = Math.ceil(k / elems);
    this.groupVecs = gs === k ? this.vecsPerRow : gs / elems;
    this.cpPad = 2 * Math.ceil(k / 16);
    this.groupCps = gs === k ? this.cpPad : gs / 8;

    const x = kernels.exports;
    const G = this.groups, nPad = this.nPad;
    // Final buffers first, then the temporary canonical planes above them (released at the end).
    // The repack kernels write every byte of these (padding included): no zero-fill needed.
    this.wBuf = arena.alloc(this.layoutBytes, false);
    this.wScales = arena.alloc(G * nPad * 4);
    this.wZeros = arena.alloc(G * nPad * 4);
    this.wSums = arena.alloc(G * nPad * 4);
    const b = spec.weights.bias;
    this.bias = b ? arena.put(b) : 0;
    const scales = arena.f32(this.wScales, G * nPad);
    const zeros = arena.i32(this.wZeros, G * nPad);
    for (let r = 0; r < n; r++) {
      for (let g = 0; g < G; g++) {
        scales[g * nPad + r] = spec.weights.scales[r * G + g];
        zeros[g * nPad + r] = spec.weights.zeros[r * G + g];
      }
    }
    const mark = arena.used;
    const planes = arena.put(spec.weights.planes.subarray(0, p * n * this.wd));
    x.weightSums(planes, p, n, this.wd, this.groupWords, G, nPad, this.wSums);
    if (this.path === 'planes') {
      x.repackToTiles(planes, p, n, this.wd, this.wBuf);
    } else if (this.path === 'lut') {
      x.repackToLut(planes, p, n, this.wd, this.cpPad, this.wBuf);
    } else if (this.path === 'lutpairs') {
      x.repackToLutPairs(planes, p, n, this.wd, this.cpPad, this.wBuf);
    } else {
      const scratch = arena.alloc(this.wd * 32 + 64);
      x.repackToContainers(planes, p, n, k, this.wd, this.container, this.vecsPerRow, this.wBuf, scratch);
    }
    arena.release(mark);
  }

  /** Bytes of weights this layer streams per forward pass (for bandwidth figures). */
  get weightBytes(): number {
    return this.layoutBytes;
  }

  private get layoutBytes(): number {
    const p = this.spec.weights.bits;
    if (this.path === 'planes') return (this.nPad / 4) * this.wd * p * 16;
    if (this.path === 'lut') return Math.ceil(this.outFeatures / LUT_ROWS) * this.cpPad * p * 16;
    if (this.path === 'lutpairs') return Math.ceil(this.outFeatures / LUT_PAIR_ROWS) * this.cpPad * p * 8;
    return this.outFeatures * this.vecsPerRow * 16;
  }

  /** Accumulator entries per token (for sizing the workspace). */
  get accPerRow(): number {
    return this.groups * this.nPad;
  }

  /** x f32 [m][K] at xPtr -> y f32 [m][N] at outPtr. */
  forward(xPtr: number, m: number, outPtr: number, ws: Workspace): void {
    const x = this.kernels.exports;
    const { n, k, bits: p } = this.spec.weights;
    checkWorkspace(ws, m, k, this.accPerRow, Math.max(this.groups, Math.ceil(k / this.actGroup)));
    if (this.path === 'a16') {
      const stride = this.vecsPerRow * (128 / this.container);
      let xs = xPtr;
      if (stride !== k) {
        const mem = new Float32Array(this.kernels.memory.buffer);
        for (let r = 0; r < m; r++) {
          const dst = ws.xPad / 4 + r * stride;
          mem.copyWithin(dst, xPtr / 4 + r * k, xPtr / 4 + r * k + k);
          mem.fill(0, dst + k, dst + stride);
        }
        xs = ws.xPad;
      }
      x.a16Gemm(this.container, xs, stride, this.wBuf, this.wScales, this.wZeros, this.bias, outPtr, m, n,
        this.vecsPerRow, this.groupVecs, this.groups, this.nPad);
      return;
    }
    const q = this.spec.actBits;
    const stride = codeStrideFor(k);
    const gs = this.groupWords === this.wd ? k : this.groupWords * 32;
    x.quantizeActs(xPtr, m, k, q, this.actGroup, gs, ws.codes, stride, ws.scales, ws.zeros, ws.sums);
    const par = this.spec.parallel && n * k >= PARALLEL_MIN_WEIGHTS ? this.spec.parallel : undefined;
    if (this.path === 'planes') {
      x.packActPlanes(ws.codes, m, k, stride, q, ws.planes);
      const tileBytes = this.wd * p * 16;
      const task = (t0: number, t1: number): ParallelTask => ({ kernel: 'bitGemm',
        args: [p, q, ws.planes, this.wBuf + t0 * tileBytes, ws.acc + t0 * 16, m, t1 - t0, this.wd, this.groupWords, this.groups, this.nPad] });
      if (par) par.run(splitRange(this.nPad / 4, par.threads).map(([a, b]) => task(a, b)));
      else x.bitGemm(...(task(0, this.nPad / 4).args as Parameters<typeof x.bitGemm>));
    } else if (this.path === 'lut' || this.path === 'lutpairs') {
      this.lutForward(m, stride, q, par, ws);
    } else {
      const rowBytes = this.vecsPerRow * 16;
      const task = (r0: number, r1: number): ParallelTask => ({ kernel: 'codeGemm',
        args: [this.container, p, q, ws.codes, stride, this.wBuf + r0 * rowBytes, ws.acc + r0 * 4, m, r1 - r0, this.vecsPerRow, this.groupVecs, this.groups, this.nPad] });
      if (par) par.run(splitRange(n, par.threads).map(([a, b]) => task(a, b)));
      else x.codeGemm(...(task(0, n).args as Parameters<typeof x.codeGemm>));
    }
    x.epilogue(ws.acc, m, n, this.nPad, k, gs, this.groups, ws.scales, ws.zeros, this.actGroup, ws.sums,
      this.wScales, this.wZeros, this.wSums, this.bias, outPtr);
  }

  /**
   * Table-lookup GEMM: tables for up to LUT_BATCH tokens at a time, then 16-row blocks (lut) or
   * 8-row blocks (lutpairs), split over threads.
   */
  private lutForward(m: number, codeStride: number, q: number, par: ParallelRunner | undefined, ws: Workspace): void {
    const x = this.kernels.exports;
    const p = this.spec.weights.bits;
    const tableStride = lutTableStrideFor(this.inFeatures);
    const pairs = this.path === 'lutpairs';
    const blockRows = pairs ? LUT_PAIR_ROWS : LUT_ROWS;
    const kernel = pairs ? 'lutPairsGemm' : 'lutGemm';
    const nBlocks = Math.ceil(this.outFeatures / blockRows);
    const blockBytes = this.cpPad * p * blockRows;
    for (let r0 = 0; r0 < m; r0 += LUT_BATCH) {
      const mb = Math.min(LUT_BATCH, m - r0);
      x.lutTables(ws.codes + r0 * codeStride, codeStride, mb, 2 * this.cpPad, ws.luts, tableStride);
      const acc = ws.acc + r0 * this.groups * this.nPad * 4;
      const task = (b0: number, b1: number): ParallelTask => ({ kernel,
        args: [p, q, ws.luts, tableStride, this.wBuf + b0 * blockBytes, acc + b0 * blockRows * 4, mb, b1 - b0, this.cpPad,
          this.groupCps, this.groups, this.nPad, this.nPad - b0 * blockRows] });
      if (par) par.run(splitRange(nBlocks, par.threads).map(([a, b]) => task(a, b)));
      else x[kernel](...(task(0, nBlocks).args as Parameters<typeof x.lutGemm>));
    }
  }
}

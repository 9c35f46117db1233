/**
 * A packed linear layer on the GPU, over the same PackedWeights the CPU reference takes
 * (shared/numerics/packed-linear-ref.ts). Shapes are checked here, before anything reaches the
 * addon, and every error names the operation and the shape.
 */
import { planeWords } from '../../shared/format/bitplanes.ts';
import { encodeF16, decodeF16 } from '../../shared/format/f16.ts';
import { A16, type ActSpec, type PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import { requireCudaBackend } from './load-cuda-backend.ts';
import type { NativeAddon, NativeForwardResult, NativeLayerHandle } from './native.ts';

function shapeOf(w: PackedWeights, act: ActSpec): string {
  return `[N=${w.n} K=${w.k} W${w.bits}A${act.bits} group=${w.groupSize}]`;
}

/** Throws a RangeError naming the op and shape unless the layer is one the CUDA kernels run. */
export function checkCudaLinear(w: PackedWeights, act: ActSpec): void {
  const at = `CudaLinear.create ${shapeOf(w, act)}`;
  if (!Number.isInteger(w.n) || !Number.isInteger(w.k) || w.n < 1 || w.k < 1) throw new RangeError(`${at}: N and K must be positive integers`);
  if (!Number.isInteger(w.bits) || w.bits < 1 || w.bits > 8) throw new RangeError(`${at}: weight bits must be 1..8`);
  if (!(act.bits === A16 || (Number.isInteger(act.bits) && act.bits >= 1 && act.bits <= 8))) {
    throw new RangeError(`${at}: activation bits must be 1..8 or ${A16} (weight-only)`);
  }
  const group = w.groupSize <= 0 || w.groupSize >= w.k ? w.k : w.groupSize;
  const groups = Math.ceil(w.k / group);
  if (w.planes.length !== planeWords(w.bits, w.n, w.k)) {
    throw new RangeError(`${at}: planes has ${w.planes.length} words, expected ${planeWords(w.bits, w.n, w.k)} (bits x N x ceil(K/32))`);
  }
  if (w.scales.length !== w.n * groups || w.zeros.length !== w.n * groups) {
    throw new RangeError(`${at}: scales/zeros need N x groups = ${w.n * groups} entries, got ${w.scales.length}/${w.zeros.length}`);
  }
  if (w.bias && w.bias.length !== w.n) throw new RangeError(`${at}: bias has ${w.bias.length} entries, expected N=${w.n}`);
  if (act.bits === A16) {
    if (group !== w.k && group % 64 !== 0) throw new RangeError(`${at}: weight-only layers need a group of K or a multiple of 64`);
  } else if (group !== w.k && group % 32 !== 0) {
    throw new RangeError(`${at}: weight group must be K or a multiple of 32`);
  }
}

export class CudaLinear {
  private disposed = false;

  private constructor(
    private readonly addon: NativeAddon,
    private readonly handle: NativeLayerHandle,
    readonly weights: Pick<PackedWeights, 'n' | 'k' | 'bits' | 'groupSize'>,
    readonly act: ActSpec,
  ) {}

  /** Uploads and repacks the layer on the GPU (off the event loop). */
  static async create(weights: PackedWeights, act: ActSpec, addon = requireCudaBackend()): Promise<CudaLinear> {
    checkCudaLinear(weights, act);
    const handle = await addon.createLinear(
      { n: weights.n, k: weights.k, wbits: weights.bits, groupSize: weights.groupSize, abits: act.bits, actGroup: act.groupSize },
      weights.planes, weights.scales, weights.zeros, weights.bias ?? null,
    );
    return new CudaLinear(addon, handle, { n: weights.n, k: weights.k, bits: weights.bits, groupSize: weights.groupSize }, act);
  }

  /** y [M][N] (fp16 bits) from x [M][K] (fp16 bits). With `debug`, also activations and accumulators. */
  async forwardF16(x: Uint16Array, m: number, debug = false): Promise<NativeForwardResult> {
    const at = `CudaLinear.forward [M=${m} N=${this.weights.n} K=${this.weights.k}]`;
    if (this.disposed) throw new Error(`${at}: the layer was disposed`);
    if (!Number.isInteger(m) || m < 1) throw new RangeError(`${at}: M must be a positive integer`);
    if (x.length !== m * this.weights.k) throw new RangeError(`${at}: x has ${x.length} values, expected M x K = ${m * this.weights.k}`);
    return this.addon.forward(this.handle, x, m, debug);
  }

  /** Float32 convenience: rounds x to fp16 (what the kernel reads) and widens y back. */
  async forward(x: Float32Array, m: number): Promise<Float32Array> {
    const { y } = await this.forwardF16(encodeF16(x), m);
    return decodeF16(y);
  }

  /** Kernel the dispatch table picks for M tokens. */
  planName(m: number): string {
    return this.addon.planName(this.handle, m);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.addon.dispose(this.handle);
  }
}


/** An f32 linear layer on the WASM kernels (unquantized layers, tied lm_head, the f32 baseline). */
import type { Arena } from './arena.ts';
import type { Kernels } from './kernels.ts';
import { splitRange, type ParallelRunner, type ParallelTask } from './parallel.ts';

/** Fewest weights for which one token's product is split over threads (as QuantLinear's PARALLEL_MIN_WEIGHTS). */
const PARALLEL_MIN_WEIGHTS = 1 << 17;

export class DenseLinearWasm {
  private readonly w: number;
  private readonly bias: number;

  /** weight f32 [out][in]; an existing pointer may be shared (tied embeddings). */
  /**
   * With `parallel`, one token's product (decode: the f32 lm_head is the largest read of a step on the
   * stories models) is split over the threads by output rows.
   */
  constructor(private readonly kernels: Kernels, arena: Arena, readonly outFeatures: number, readonly inFeatures: number,
    weight: Float32Array | number, bias?: Float32Array, private readonly parallel?: ParallelRunner) {
    if (typeof weight !== 'number' && weight.length !== outFeatures * inFeatures) {
      throw new RangeError(`dense weight has ${weight.length} values, expected ${outFeatures}x${inFeatures}`);
    }
    this.w = typeof weight === 'number' ? weight : arena.put(weight);
    this.bias = bias ? arena.put(bias) : 0;
  }

  get weightBytes(): number {
    return this.outFeatures * this.inFeatures * 4;
  }

  forward(xPtr: number, m: number, outPtr: number): void {
    const k = this.inFeatures, par = this.parallel;
    if (par && m === 1 && this.outFeatures * k >= PARALLEL_MIN_WEIGHTS) {
      // Rows [r0, r1) of one token: the output stride does not matter for a single row.
      const task = (r0: number, r1: number): ParallelTask => ({ kernel: 'matmulF32',
        args: [xPtr, 1, k, this.w + r0 * k * 4, r1 - r0, this.bias ? this.bias + r0 * 4 : 0, outPtr + r0 * 4] });
      par.run(splitRange(this.outFeatures, par.threads).map(([a, b]) => task(a, b)));
      return;
    }
    this.kernels.exports.matmulF32(xPtr, m, k, this.w, this.outFeatures, this.bias, outPtr);
  }
}

/** An f32 linear layer on the WASM kernels (unquantized layers, tied lm_head, the f32 baseline). */
import type { Arena } from './arena.ts';
import type { Kernels } from './kernels.ts';

export class DenseLinearWasm {
  private readonly w: number;
  private readonly bias: number;

  /** weight f32 [out][in]; an existing pointer may be shared (tied embeddings). */
  constructor(private readonly kernels: Kernels, arena: Arena, readonly outFeatures: number, readonly inFeatures: number,
    weight: Float32Array | number, bias?: Float32Array) {
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
    this.kernels.exports.matmulF32(xPtr, m, this.inFeatures, this.w, this.outFeatures, this.bias, outPtr);
  }
}

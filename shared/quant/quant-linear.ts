/**
 * A folded linear as the two things the project evaluates: the packed integer layer (real bit
 * planes, PackedLinearRef) and the simulated one (dequantized weights, fake-quantized activations,
 * f32 matmul). Both start from the same quantizeWeightsRef codes, so they differ only by float
 * rounding in the accumulation.
 */
import { quantizeWeightsRef, dequantizeWeightsRef, type QuantizedWeights } from '../numerics/weight-quant.ts';
import { PackedLinearRef, type PackedWeights } from '../numerics/packed-linear-ref.ts';
import { packBitPlanes, unpackBitPlanes } from '../format/bitplanes.ts';
import { matmulTransB, type Linear } from '../model/linear.ts';
import { fakeQuantActArray } from './fake-quant.ts';
import { toWeightSpec } from './quant-config.ts';
import type { FoldedLinear } from './fold.ts';

export function quantizeFolded(f: FoldedLinear): QuantizedWeights {
  return quantizeWeightsRef(f.weight, f.n, f.k, toWeightSpec(f.spec), f.clipLo, f.clipHi);
}

export function packQuantized(q: QuantizedWeights, bias?: Float32Array): PackedWeights {
  return { n: q.n, k: q.k, bits: q.bits, groupSize: q.groupSize, planes: packBitPlanes(q.codes, q.n, q.k, q.bits), scales: q.scales, zeros: q.zeros, bias };
}

export function packedLinear(p: PackedWeights, abits: number, actGroup: number): PackedLinearRef {
  return new PackedLinearRef(p, { bits: abits, groupSize: actGroup }, { accumulate: 'codes' });
}

/** Simulated quantized linear: y = fq_a(x) dequant(W)^T + b. */
export class FakeQuantLinear implements Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private readonly dense: Float32Array;
  readonly bias?: Float32Array;

  constructor(p: PackedWeights, readonly abits: number, readonly actGroup: number) {
    this.inFeatures = p.k;
    this.outFeatures = p.n;
    this.bias = p.bias;
    const codes = unpackBitPlanes(p.planes, p.n, p.k, p.bits);
    this.dense = dequantizeWeightsRef({ n: p.n, k: p.k, bits: p.bits, groupSize: p.groupSize, codes, scales: p.scales, zeros: p.zeros });
  }

  forward(x: Float32Array, m: number): Float32Array {
    const xq = fakeQuantActArray(x, m, this.inFeatures, this.abits, this.actGroup);
    return matmulTransB(xq, m, this.dense, this.outFeatures, this.inFeatures, undefined, this.bias);
  }
}

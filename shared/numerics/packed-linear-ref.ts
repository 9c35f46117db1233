/**
 * A linear layer over real bit planes, computed by the reference integer path: activations are
 * quantized dynamically per token, packed to planes, multiplied by AND+popcount, and rescaled by the
 * group epilogue. With activation bits 16 (weight-only), weights are dequantized instead.
 * This is the path "the packed model evaluated through the integer path" refers to.
 */
import { packBitPlanes } from '../format/bitplanes.ts';
import { quantizeActivationsRef } from './act-quant.ts';
import { bitGemmAccRef, bitGemmEpilogueRef, checkGroupSizes, codeGemmAccRef, weightCodeSumsFromPlanes } from './bitgemm-ref.ts';
import { dequantizeWeightsRef } from './weight-quant.ts';
import { unpackBitPlanes } from '../format/bitplanes.ts';

/** Activation bits value meaning "not quantized" (weight-only). */
export const A16 = 16;

export interface PackedWeights {
  n: number;
  k: number;
  bits: number;
  groupSize: number;
  /** u32 [bits][N][ceil(K/32)] */
  planes: Uint32Array;
  /** [N][G], F16 values */
  scales: Float32Array;
  /** [N][G] */
  zeros: Uint8Array;
  /** Optional bias [N]. */
  bias?: Float32Array;
}

export interface ActSpec {
  /** 1..8, or 16 for weight-only. */
  bits: number;
  /** Activation group size; K (or 0) means per token. */
  groupSize: number;
}

export interface PackedLinearOptions {
  /**
   * 'planes' runs the literal popcount formula (the oracle, slow); 'codes' sums code products from
   * the unpacked planes (identical integers, much faster; used for whole-model evaluation).
   */
  accumulate?: 'planes' | 'codes';
}

export class PackedLinearRef {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private readonly wSums: Uint32Array;
  private wCodes?: Uint8Array;
  private dense?: Float32Array;

  constructor(readonly weights: PackedWeights, readonly act: ActSpec, readonly options: PackedLinearOptions = {}) {
    this.inFeatures = weights.k;
    this.outFeatures = weights.n;
    const ag = act.groupSize <= 0 || act.groupSize >= weights.k ? weights.k : act.groupSize;
    if (act.bits !== A16) checkGroupSizes(weights.k, weights.groupSize, ag);
    this.wSums = weightCodeSumsFromPlanes(weights.planes, weights.bits, weights.n, weights.k, weights.groupSize);
  }

  forward(x: Float32Array, m: number): Float32Array {
    const { n, k, bits, groupSize } = this.weights;
    let y: Float32Array;
    if (this.act.bits === A16) {
      this.dense ??= dequantizeWeightsRef({
        n, k, bits, groupSize,
        codes: unpackBitPlanes(this.weights.planes, n, k, bits),
        scales: this.weights.scales, zeros: this.weights.zeros,
      });
      y = new Float32Array(m * n);
      const w = this.dense;
      for (let r = 0; r < m; r++) {
        for (let c = 0; c < n; c++) {
          let s = 0;
          for (let i = 0; i < k; i++) s += x[r * k + i] * w[c * k + i];
          y[r * n + c] = s;
        }
      }
    } else {
      const ag = this.act.groupSize <= 0 || this.act.groupSize >= k ? k : this.act.groupSize;
      const qa = quantizeActivationsRef(x, m, k, this.act.bits, ag, groupSize);
      let acc: Uint32Array;
      if (this.options.accumulate === 'codes') {
        this.wCodes ??= unpackBitPlanes(this.weights.planes, n, k, bits);
        acc = codeGemmAccRef(qa.codes, this.wCodes, m, n, k, groupSize);
      } else {
        const xPlanes = packBitPlanes(qa.codes, m, k, this.act.bits);
        acc = bitGemmAccRef(xPlanes, this.act.bits, this.weights.planes, bits, m, n, k, groupSize);
      }
      y = bitGemmEpilogueRef(acc, qa, { scales: this.weights.scales, zeros: this.weights.zeros, sums: this.wSums }, m, n, k, groupSize);
    }
    const b = this.weights.bias;
    if (b) for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) y[r * n + c] += b[c];
    return y;
  }
}

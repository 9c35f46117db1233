/**
 * Weight quantization to the packed format's affine grid: w ~= s * (code - zero), per (row, group).
 *
 * - Asymmetric: qmax = levels - 1 (levels = 2^bits by default). The range [lo, hi] is widened to hold
 *   0 (so zero points are integers in [0, qmax]), optionally shrunk by clip factors (OmniQuant's LWC
 *   learns them), s = (hi - lo) / qmax, zero = rne(-lo / s).
 * - Symmetric: zero = ceil(qmax / 2), half = qmax - zero, s = clip * absmax / half, codes clamped to
 *   [zero - half, zero + half]. With an odd number of levels (ABQ's bit-balanced W2*: 5 levels stored
 *   in 3 planes) the grid is exactly symmetric.
 * Scales are rounded to F16 *before* the codes are computed, because F16 is what the file stores; a
 * scale that would round to 0 (or overflow) is clamped to the F16 range.
 */
import { assertBits } from '../format/bitplanes.ts';
import { roundToF16 } from '../format/f16.ts';
import { roundHalfEven } from './act-quant.ts';

/** Smallest positive normal F16 value, used as a floor for scales. */
export const MIN_F16_SCALE = 2 ** -14;
/** Largest finite F16 value. */
export const MAX_F16 = 65504;

export interface WeightQuantSpec {
  /** Bit planes stored (1..8). */
  bits: number;
  /** Group size along K; K (or 0) means one group per row (per-channel). */
  groupSize: number;
  symmetric: boolean;
  /** Number of levels (default 2^bits); must be <= 2^bits. 5 with bits=3 is ABQ's W2*. */
  levels?: number;
}

export interface QuantizedWeights {
  n: number;
  k: number;
  bits: number;
  groupSize: number;
  /** Codes, row-major [N, K]. */
  codes: Uint8Array;
  /** Scales (values exactly representable in F16), [N, groups]. */
  scales: Float32Array;
  /** Zero points, [N, groups]. */
  zeros: Uint8Array;
}

export function weightQmax(spec: WeightQuantSpec): number {
  assertBits(spec.bits, 'weight bits');
  const levels = spec.levels ?? 1 << spec.bits;
  if (!Number.isInteger(levels) || levels < 2 || levels > 1 << spec.bits) {
    throw new RangeError(`levels must be in 2..${1 << spec.bits} for ${spec.bits}-bit weights, got ${levels}`);
  }
  if (spec.symmetric && levels < 3) throw new RangeError('symmetric quantization needs at least 3 levels (2+ bits)');
  return levels - 1;
}

export function effectiveGroupSize(k: number, groupSize: number): number {
  return groupSize <= 0 || groupSize >= k ? k : groupSize;
}

function clampScale(s: number): number {
  if (!(s > 0) || !Number.isFinite(s)) return 1;
  return roundToF16(Math.min(MAX_F16, Math.max(MIN_F16_SCALE, s)));
}

/** Grid parameters (scale, zero) for one group with the given range. */
export function weightGroupParams(
  lo: number,
  hi: number,
  qmax: number,
  symmetric: boolean,
): { scale: number; zero: number } {
  if (symmetric) {
    const zero = Math.ceil(qmax / 2);
    const half = qmax - zero;
    const absmax = Math.max(Math.abs(lo), Math.abs(hi));
    return { scale: absmax > 0 ? clampScale(absmax / half) : 1, zero };
  }
  const l = Math.min(0, lo);
  const h = Math.max(0, hi);
  const scale = h > l ? clampScale((h - l) / qmax) : 1;
  const zero = Math.min(qmax, Math.max(0, roundHalfEven(-l / scale)));
  return { scale, zero };
}

/** Code of one weight on a group's grid. */
export function weightCode(w: number, scale: number, zero: number, qmax: number, symmetric: boolean): number {
  const c = roundHalfEven(w / scale) + zero;
  const lo = symmetric ? zero - (qmax - zero) : 0;
  return c < lo ? lo : c > qmax ? qmax : c;
}

/**
 * Round-to-nearest quantization of a row-major [N, K] f32 matrix.
 * `clipLo`/`clipHi` (optional, [N, groups], values in (0, 1]) shrink each group's range (LWC).
 */
export function quantizeWeightsRef(
  w: Float32Array,
  n: number,
  k: number,
  spec: WeightQuantSpec,
  clipLo?: Float32Array,
  clipHi?: Float32Array,
): QuantizedWeights {
  const qmax = weightQmax(spec);
  const gs = effectiveGroupSize(k, spec.groupSize);
  const groups = Math.ceil(k / gs);
  const codes = new Uint8Array(n * k);
  const scales = new Float32Array(n * groups);
  const zeros = new Uint8Array(n * groups);
  for (let r = 0; r < n; r++) {
    for (let g = 0; g < groups; g++) {
      const k0 = g * gs;
      const k1 = Math.min(k, k0 + gs);
      let lo = Infinity, hi = -Infinity;
      for (let i = k0; i < k1; i++) {
        const v = w[r * k + i];
        if (!Number.isFinite(v)) throw new RangeError(`weight [${r}, ${i}] is ${v}: cannot quantize non-finite weights`);
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const gi = r * groups + g;
      if (clipLo) lo *= clipLo[gi];
      if (clipHi) hi *= clipHi[gi];
      const { scale, zero } = weightGroupParams(lo, hi, qmax, spec.symmetric);
      scales[gi] = scale;
      zeros[gi] = zero;
      for (let i = k0; i < k1; i++) codes[r * k + i] = weightCode(w[r * k + i], scale, zero, qmax, spec.symmetric);
    }
  }
  return { n, k, bits: spec.bits, groupSize: gs, codes, scales, zeros };
}

/** Dequantizes to f32 [N, K]: w = scale * (code - zero). */
export function dequantizeWeightsRef(q: QuantizedWeights, out = new Float32Array(q.n * q.k)): Float32Array {
  const groups = Math.ceil(q.k / q.groupSize);
  for (let r = 0; r < q.n; r++) {
    for (let i = 0; i < q.k; i++) {
      const gi = r * groups + Math.floor(i / q.groupSize);
      out[r * q.k + i] = Math.fround(q.scales[gi] * (q.codes[r * q.k + i] - q.zeros[gi]));
    }
  }
  return out;
}

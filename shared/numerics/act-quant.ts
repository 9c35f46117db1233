/**
 * Dynamic activation quantization: the reference every backend must reproduce bit for bit.
 *
 * For each token m and each activation group (the whole row when `groupSize` is K), over f32 inputs:
 *   lo    = min(0, min x)          hi = max(0, max x)      (the range always holds 0 exactly)
 *   scale = f32((hi - lo) / qmax)  with qmax = 2^bits - 1; scale = 1 when hi == lo
 *   inv   = f32(1 / scale)
 *   zero  = clamp(rne(f32(-lo * inv)), 0, qmax)
 *   code  = clamp(rne(f32(x * inv)) + zero, 0, qmax)
 * where f32() rounds to single precision and rne() rounds half to even (CUDA's __float2int_rn,
 * WASM's f32.nearest). Every operation is a single IEEE f32 operation, so CUDA, WASM and this
 * JavaScript (which computes in f64 then rounds with Math.fround: exact for one +,-,*,/) agree.
 *
 * Code sums are also produced per *sum group* (the weight group size of the layer that consumes the
 * activations), because the GEMM epilogue needs Sx per weight group.
 */
import { assertBits } from '../format/bitplanes.ts';

export interface QuantizedActivations {
  m: number;
  k: number;
  bits: number;
  /** Activation group size (K for per-token). */
  groupSize: number;
  /** Codes, row-major [M, K]. */
  codes: Uint8Array;
  /** f32 scales, [M, ceil(K / groupSize)]. */
  scales: Float32Array;
  /** Integer zero points, [M, ceil(K / groupSize)]. */
  zeros: Uint8Array;
  /** Size of the groups over which code sums are taken. */
  sumGroupSize: number;
  /** Code sums, [M, ceil(K / sumGroupSize)]. */
  sums: Uint32Array;
}

/** Round half to even, as f32.nearest / rintf. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; fix exact ties to the even neighbour.
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

export interface ActQuantParams {
  scale: number;
  inv: number;
  zero: number;
}

/** Scale, reciprocal and zero point for one activation group with the given min/max. */
export function actQuantParams(min: number, max: number, bits: number): ActQuantParams {
  const qmax = (1 << bits) - 1;
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  const range = Math.fround(hi - lo);
  let scale = Math.fround(range / qmax);
  if (!(scale > 0) || !Number.isFinite(scale)) scale = 1;
  const inv = Math.fround(1 / scale);
  const zero = Math.min(qmax, Math.max(0, roundHalfEven(Math.fround(-lo * inv))));
  return { scale, inv, zero };
}

/** Quantizes one value with the given parameters. */
export function actQuantCode(x: number, p: ActQuantParams, qmax: number): number {
  const c = roundHalfEven(Math.fround(x * p.inv)) + p.zero;
  return c < 0 ? 0 : c > qmax ? qmax : c;
}

export function quantizeActivationsRef(
  x: Float32Array,
  m: number,
  k: number,
  bits: number,
  groupSize = k,
  sumGroupSize = groupSize,
): QuantizedActivations {
  assertBits(bits, 'activation bits');
  if (x.length < m * k) throw new RangeError(`activations have ${x.length} values, need ${m}x${k}`);
  if (groupSize <= 0 || sumGroupSize <= 0) throw new RangeError('group sizes must be positive');
  const qmax = (1 << bits) - 1;
  const groups = Math.ceil(k / groupSize);
  const sumGroups = Math.ceil(k / sumGroupSize);
  const codes = new Uint8Array(m * k);
  const scales = new Float32Array(m * groups);
  const zeros = new Uint8Array(m * groups);
  const sums = new Uint32Array(m * sumGroups);
  for (let r = 0; r < m; r++) {
    const row = r * k;
    for (let g = 0; g < groups; g++) {
      const k0 = g * groupSize;
      const k1 = Math.min(k, k0 + groupSize);
      let mn = Infinity, mx = -Infinity;
      for (let i = k0; i < k1; i++) {
        const v = x[row + i];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      const p = actQuantParams(mn, mx, bits);
      scales[r * groups + g] = p.scale;
      zeros[r * groups + g] = p.zero;
      for (let i = k0; i < k1; i++) {
        const c = actQuantCode(x[row + i], p, qmax);
        codes[row + i] = c;
        sums[r * sumGroups + Math.floor(i / sumGroupSize)] += c;
      }
    }
  }
  return { m, k, bits, groupSize, codes, scales, zeros, sumGroupSize, sums };
}

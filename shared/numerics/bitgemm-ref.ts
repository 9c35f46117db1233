/**
 * The reference arbitrary-bit GEMM over bit planes (DESIGN.md, "Numerics"). Scalar and slow on
 * purpose: it is the oracle that the WASM and CUDA kernels must match bit for bit on the integer
 * accumulators.
 *
 * Activation codes X (q bits, planes X_i) and weight codes W (p bits, planes W_j), per weight group g:
 *   acc_g[m, n] = sum_i sum_j 2^(i+j) * popcount(X_i[m, g] AND W_j[n, g])       (= sum_k x_k * w_k)
 *   y[m, n]     = sum_g s_x[m, g] * s_w[n, g] *
 *                 (acc_g - z_w * Sx_g[m] - z_x * Sw_g[n] + K_g * z_x * z_w)
 * Sx_g / Sw_g are code sums over the group, K_g the group's element count (the last may be short).
 *
 * Shapes: X planes u32 [q][M][W], W planes u32 [p][N][W] with W = ceil(K/32); acc u32 [M][N][G].
 * Weight groups are whole words (group % 32 == 0) or the whole row; an activation group is K or a
 * multiple of the weight group, so each weight group lies inside one activation group.
 */
import { popcount32, wordsPerRow, BITS_PER_WORD } from '../format/bitplanes.ts';
import type { QuantizedActivations } from './act-quant.ts';

export function groupCount(k: number, groupSize: number): number {
  return Math.ceil(k / groupSize);
}

export function checkGroupSizes(k: number, weightGroup: number, actGroup: number): void {
  if (weightGroup !== k && weightGroup % BITS_PER_WORD !== 0) {
    throw new RangeError(`weight group size ${weightGroup} must be a multiple of 32 or equal K (${k})`);
  }
  if (actGroup < k && actGroup % weightGroup !== 0) {
    throw new RangeError(`activation group size ${actGroup} must be K (${k}) or a multiple of the weight group size ${weightGroup}`);
  }
}

/** Integer accumulators from bit planes, by the literal AND+popcount formula. */
export function bitGemmAccRef(
  xPlanes: Uint32Array, q: number,
  wPlanes: Uint32Array, p: number,
  m: number, n: number, k: number, groupSize: number,
): Uint32Array {
  const wpr = wordsPerRow(k);
  const groups = groupCount(k, groupSize);
  const wordsPerGroup = groupSize === k ? wpr : groupSize / BITS_PER_WORD;
  const acc = new Uint32Array(m * n * groups);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      for (let g = 0; g < groups; g++) {
        const w0 = g * wordsPerGroup;
        const w1 = Math.min(wpr, w0 + wordsPerGroup);
        let total = 0;
        for (let i = 0; i < q; i++) {
          const xBase = (i * m + r) * wpr;
          for (let j = 0; j < p; j++) {
            const wBase = (j * n + c) * wpr;
            let pc = 0;
            for (let w = w0; w < w1; w++) pc += popcount32(xPlanes[xBase + w] & wPlanes[wBase + w]);
            total += pc * 2 ** (i + j);
          }
        }
        acc[(r * n + c) * groups + g] = total;
      }
    }
  }
  return acc;
}

/** The same accumulators from unpacked codes (sum of code products): a second, independent oracle. */
export function codeGemmAccRef(
  xCodes: Uint8Array, wCodes: Uint8Array,
  m: number, n: number, k: number, groupSize: number,
): Uint32Array {
  const groups = groupCount(k, groupSize);
  const acc = new Uint32Array(m * n * groups);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      for (let g = 0; g < groups; g++) {
        const k0 = g * groupSize;
        const k1 = Math.min(k, k0 + groupSize);
        let total = 0;
        for (let i = k0; i < k1; i++) total += xCodes[r * k + i] * wCodes[c * k + i];
        acc[(r * n + c) * groups + g] = total;
      }
    }
  }
  return acc;
}

/** Weight code sums Sw [N][G] from codes. */
export function weightCodeSums(codes: Uint8Array, n: number, k: number, groupSize: number): Uint32Array {
  const groups = groupCount(k, groupSize);
  const sums = new Uint32Array(n * groups);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < k; i++) sums[r * groups + Math.floor(i / groupSize)] += codes[r * k + i];
  }
  return sums;
}

/** Weight code sums Sw [N][G] from bit planes (what a loader derives at load: no need to store them). */
export function weightCodeSumsFromPlanes(
  planes: Uint32Array, bits: number, n: number, k: number, groupSize: number,
): Uint32Array {
  const wpr = wordsPerRow(k);
  const groups = groupCount(k, groupSize);
  const wordsPerGroup = groupSize === k ? wpr : groupSize / BITS_PER_WORD;
  const sums = new Uint32Array(n * groups);
  for (let j = 0; j < bits; j++) {
    for (let r = 0; r < n; r++) {
      const base = (j * n + r) * wpr;
      for (let w = 0; w < wpr; w++) {
        sums[r * groups + Math.floor(w / wordsPerGroup)] += popcount32(planes[base + w]) << j;
      }
    }
  }
  return sums;
}

export interface WeightGroupParams {
  /** [N][G] */
  scales: Float32Array;
  /** [N][G] */
  zeros: Uint8Array;
  /** Code sums [N][G]. */
  sums: Uint32Array;
}

/**
 * The group epilogue: integer accumulators + scales/zeros/sums -> f32 outputs [M][N].
 * The integer bracket is exact; the float sum runs in f64 and is rounded to f32 once, so it is the
 * most accurate answer a kernel can be compared against.
 */
export function bitGemmEpilogueRef(
  acc: Uint32Array,
  act: QuantizedActivations,
  w: WeightGroupParams,
  m: number, n: number, k: number, groupSize: number,
  out = new Float32Array(m * n),
): Float32Array {
  const groups = groupCount(k, groupSize);
  const actGroups = groupCount(k, act.groupSize);
  const sumGroups = groupCount(k, act.sumGroupSize);
  if (act.sumGroupSize !== groupSize) {
    throw new RangeError(`activation code sums are over groups of ${act.sumGroupSize}, the weights use ${groupSize}`);
  }
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let y = 0;
      for (let g = 0; g < groups; g++) {
        const kg = Math.min(k, (g + 1) * groupSize) - g * groupSize;
        const ag = Math.floor((g * groupSize) / act.groupSize);
        const zx = act.zeros[r * actGroups + ag];
        const sx = act.scales[r * actGroups + ag];
        const wi = c * groups + g;
        const zw = w.zeros[wi];
        const bracket = acc[(r * n + c) * groups + g] - zw * act.sums[r * sumGroups + g] - zx * w.sums[wi] + kg * zx * zw;
        y += sx * w.scales[wi] * bracket;
      }
      out[r * n + c] = y;
    }
  }
  return out;
}

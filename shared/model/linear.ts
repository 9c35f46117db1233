/**
 * Linear layers of the reference forward. `Linear` is the one interface the model calls, so a dense
 * f32 layer, the packed integer reference (shared/numerics PackedLinearRef) or a fake-quantized layer
 * of the quantizer can stand in for one another.
 */

export interface Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** x row-major [m][inFeatures] -> new y [m][outFeatures]. */
  forward(x: Float32Array, m: number): Float32Array;
}

/**
 * Weight rows of one tile are reused for every block of activation rows, so the tile is sized to stay
 * in a typical L2 (256 KiB of f32 weights); x is then streamed once per tile.
 */
const TILE_BYTES = 256 * 1024;
/** Activation rows per micro-kernel step (prefill). */
const ROWS_PER_BLOCK = 4;

/**
 * y = x W^T (+ bias), W stored as HF does: [out][in] row-major.
 *
 * Data layout and loop order (the quantizer runs this thousands of times, so it is blocked):
 *   for each tile of weight rows (TILE_BYTES of W):
 *     for each block of 4 rows of x:      4x2 micro-kernel: 4 x rows times 2 weight rows,
 *       for each pair of weight rows:    8 accumulators, 6 loads per 8 multiply-adds
 *     leftover x rows (m % 4, and m = 1 for decode): 1x8 kernel, 8 weight rows at a time
 * Sums are JS numbers (f64); stores round to f32. No allocation inside the loops.
 */
export function matmulTransB(x: Float32Array, m: number, w: Float32Array, n: number, k: number, y = new Float32Array(m * n), bias?: Float32Array): Float32Array {
  if (x.length < m * k) throw new Error(`matmul: x has ${x.length} elements, need ${m}x${k}`);
  const tileN = Math.max(8, Math.floor(TILE_BYTES / (4 * k)) & ~7);
  for (let n0 = 0; n0 < n; n0 += tileN) {
    const n1 = Math.min(n, n0 + tileN);
    let r = 0;
    for (; r + ROWS_PER_BLOCK <= m; r += ROWS_PER_BLOCK) {
      const x0 = r * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
      const y0 = r * n, y1 = y0 + n, y2 = y1 + n, y3 = y2 + n;
      let c = n0;
      for (; c + 2 <= n1; c += 2) {
        const w0 = c * k, w1 = w0 + k;
        let a00 = 0, a01 = 0, a10 = 0, a11 = 0, a20 = 0, a21 = 0, a30 = 0, a31 = 0;
        for (let i = 0; i < k; i++) {
          const u = w[w0 + i], v = w[w1 + i];
          const p = x[x0 + i], q = x[x1 + i], s = x[x2 + i], t = x[x3 + i];
          a00 += p * u; a01 += p * v;
          a10 += q * u; a11 += q * v;
          a20 += s * u; a21 += s * v;
          a30 += t * u; a31 += t * v;
        }
        y[y0 + c] = a00; y[y0 + c + 1] = a01;
        y[y1 + c] = a10; y[y1 + c + 1] = a11;
        y[y2 + c] = a20; y[y2 + c + 1] = a21;
        y[y3 + c] = a30; y[y3 + c + 1] = a31;
      }
      if (c < n1) {
        const w0 = c * k;
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let i = 0; i < k; i++) {
          const u = w[w0 + i];
          a0 += x[x0 + i] * u; a1 += x[x1 + i] * u; a2 += x[x2 + i] * u; a3 += x[x3 + i] * u;
        }
        y[y0 + c] = a0; y[y1 + c] = a1; y[y2 + c] = a2; y[y3 + c] = a3;
      }
    }
    for (; r < m; r++) gemvRows(x, r * k, w, n0, n1, k, y, r * n);
  }
  if (bias) addBias(y, m, n, bias);
  return y;
}

/**
 * One activation row against weight rows [c0, c1): 8 rows at a time (8 accumulators, 9 loads per 8
 * multiply-adds), the decode (m = 1) path. 8 measured ~20% faster than 4 on stories15M shapes.
 */
function gemvRows(x: Float32Array, xo: number, w: Float32Array, c0: number, c1: number, k: number, y: Float32Array, yo: number): void {
  let c = c0;
  for (; c + 8 <= c1; c += 8) {
    const w0 = c * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k, w4 = w3 + k, w5 = w4 + k, w6 = w5 + k, w7 = w6 + k;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (let i = 0; i < k; i++) {
      const p = x[xo + i];
      a0 += p * w[w0 + i]; a1 += p * w[w1 + i]; a2 += p * w[w2 + i]; a3 += p * w[w3 + i];
      a4 += p * w[w4 + i]; a5 += p * w[w5 + i]; a6 += p * w[w6 + i]; a7 += p * w[w7 + i];
    }
    y[yo + c] = a0; y[yo + c + 1] = a1; y[yo + c + 2] = a2; y[yo + c + 3] = a3;
    y[yo + c + 4] = a4; y[yo + c + 5] = a5; y[yo + c + 6] = a6; y[yo + c + 7] = a7;
  }
  for (; c < c1; c++) {
    const w0 = c * k;
    let a = 0;
    for (let i = 0; i < k; i++) a += x[xo + i] * w[w0 + i];
    y[yo + c] = a;
  }
}

function addBias(y: Float32Array, m: number, n: number, bias: Float32Array): void {
  for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) y[r * n + c] += bias[c];
}

/** A dense f32 linear layer, weight [out][in] row-major as in HF checkpoints. */
export class DenseLinear implements Linear {
  constructor(
    readonly weight: Float32Array,
    readonly outFeatures: number,
    readonly inFeatures: number,
    readonly bias?: Float32Array,
  ) {
    if (weight.length !== outFeatures * inFeatures) {
      throw new Error(`DenseLinear: weight has ${weight.length} elements, expected ${outFeatures}x${inFeatures} = ${outFeatures * inFeatures}`);
    }
    if (bias && bias.length !== outFeatures) throw new Error(`DenseLinear: bias has ${bias.length} elements, expected ${outFeatures}`);
  }

  forward(x: Float32Array, m: number): Float32Array {
    if (x.length !== m * this.inFeatures) {
      throw new Error(`DenseLinear.forward: x has ${x.length} elements, expected ${m}x${this.inFeatures}`);
    }
    return matmulTransB(x, m, this.weight, this.outFeatures, this.inFeatures, undefined, this.bias);
  }
}

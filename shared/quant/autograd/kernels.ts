/**
 * Plain f32 matrix kernels shared by the ops (and by the evaluation forward).
 *
 * Layout: every matrix is row-major. `matmulNT` computes y[m, n] = sum_k x[m, k] * w[n, k], i.e.
 * x times the transpose of a weight stored [out, in] as in HF checkpoints, so both operands are read
 * along contiguous rows. Four output columns are computed per pass over a row of x, which quarters
 * the loads of x; the accumulation order per output is k ascending, the same as a naive loop.
 */

export function matmulNT(x: Float32Array, w: Float32Array, m: number, n: number, k: number, out = new Float32Array(m * n)): Float32Array {
  for (let r = 0; r < m; r++) {
    const xo = r * k;
    let c = 0;
    for (; c + 4 <= n; c += 4) {
      const w0 = c * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let i = 0; i < k; i++) {
        const xv = x[xo + i];
        s0 += xv * w[w0 + i];
        s1 += xv * w[w1 + i];
        s2 += xv * w[w2 + i];
        s3 += xv * w[w3 + i];
      }
      out[r * n + c] = s0;
      out[r * n + c + 1] = s1;
      out[r * n + c + 2] = s2;
      out[r * n + c + 3] = s3;
    }
    for (; c < n; c++) {
      const wo = c * k;
      let s = 0;
      for (let i = 0; i < k; i++) s += x[xo + i] * w[wo + i];
      out[r * n + c] = s;
    }
  }
  return out;
}

/** dx[m, k] += sum_n g[m, n] * w[n, k]. */
export function matmulNNAccumulate(g: Float32Array, w: Float32Array, m: number, n: number, k: number, dx: Float32Array): void {
  for (let r = 0; r < m; r++) {
    const xo = r * k;
    for (let c = 0; c < n; c++) {
      const gv = g[r * n + c];
      if (gv === 0) continue;
      const wo = c * k;
      for (let i = 0; i < k; i++) dx[xo + i] += gv * w[wo + i];
    }
  }
}

/** dw[n, k] += sum_m g[m, n] * x[m, k]. */
export function matmulTNAccumulate(g: Float32Array, x: Float32Array, m: number, n: number, k: number, dw: Float32Array): void {
  for (let r = 0; r < m; r++) {
    const xo = r * k;
    for (let c = 0; c < n; c++) {
      const gv = g[r * n + c];
      if (gv === 0) continue;
      const wo = c * k;
      for (let i = 0; i < k; i++) dw[wo + i] += gv * x[xo + i];
    }
  }
}

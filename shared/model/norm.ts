/**
 * RMSNorm as LLaMA uses it: y = x / sqrt(mean(x^2) + eps) * weight, per row. The sum of squares is
 * accumulated in f64 (a JS number), which is what makes this the reference every backend is checked against.
 */

/** x: [n][dim] row-major; returns a new [n][dim] array (or writes into `out`). */
export function rmsNorm(x: Float32Array, n: number, dim: number, weight: Float32Array, eps: number, out = new Float32Array(n * dim)): Float32Array {
  if (weight.length !== dim) throw new Error(`rmsNorm: weight has ${weight.length} elements, expected ${dim}`);
  for (let t = 0; t < n; t++) {
    const base = t * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[base + i] * x[base + i];
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[base + i] = x[base + i] * inv * weight[i];
  }
  return out;
}

/**
 * RMSNorm as in LLaMA: y = x / sqrt(mean(x^2) + eps) * g, per row. Computed in f64 per row like
 * the reference forward; the output is stored as f32.
 */
import { Tensor, result } from './tensor.ts';

export function rmsNorm(x: Tensor, g: Tensor, eps: number): Tensor {
  const d = g.size;
  const rows = x.size / d;
  const y = new Float32Array(x.size);
  const inv = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += x.data[r * d + j] * x.data[r * d + j];
    inv[r] = 1 / Math.sqrt(ss / d + eps);
    for (let j = 0; j < d; j++) y[r * d + j] = x.data[r * d + j] * inv[r] * g.data[j];
  }
  return result(y, x.shape, [x, g], (o) => {
    const gy = o.grad!;
    const xg = x.requiresGrad ? x.ensureGrad() : null;
    const gg = g.requiresGrad ? g.ensureGrad() : null;
    for (let r = 0; r < rows; r++) {
      const s = inv[r];
      // dL/dx_j = s * (g_j gy_j) - s^3 / d * x_j * sum_i (g_i gy_i x_i)
      let dot = 0;
      for (let j = 0; j < d; j++) dot += gy[r * d + j] * g.data[j] * x.data[r * d + j];
      for (let j = 0; j < d; j++) {
        const i = r * d + j;
        if (xg) xg[i] += s * gy[i] * g.data[j] - ((s * s * s) / d) * x.data[i] * dot;
        if (gg) gg[j] += gy[i] * x.data[i] * s;
      }
    }
  });
}

/**
 * Block losses. `target` is always a constant (the full-precision block's output or attention map).
 * - mse: mean squared error over all elements (OmniQuant's block loss).
 * - symmetricKl: mean over attention rows of KL(P||Q) + KL(Q||P) (ABQ-LLM's distribution correction).
 * - cosineLoss: mean over rows of 1 - cos(x_row, target_row) (ABQ-LLM's cosine term).
 */
import { Tensor, result } from './tensor.ts';

/** Probabilities are floored here in the KL terms so masked (zero) entries stay finite. */
export const KL_EPS = 1e-8;

export function mse(x: Tensor, target: Float32Array): Tensor {
  if (x.size !== target.length) throw new RangeError(`mse: ${x.size} values vs target ${target.length}`);
  let s = 0;
  for (let i = 0; i < x.size; i++) { const d = x.data[i] - target[i]; s += d * d; }
  const n = x.size;
  return result(new Float32Array([s / n]), [1], [x], (o) => {
    const g = o.grad![0] * (2 / n);
    const xg = x.ensureGrad();
    for (let i = 0; i < n; i++) xg[i] += g * (x.data[i] - target[i]);
  });
}

/** `rowLen`: length of one distribution (the last axis). */
export function symmetricKl(q: Tensor, p: Float32Array, rowLen: number): Tensor {
  if (q.size !== p.length) throw new RangeError(`symmetricKl: ${q.size} values vs target ${p.length}`);
  const rows = q.size / rowLen;
  let s = 0;
  for (let i = 0; i < q.size; i++) {
    const a = Math.max(p[i], KL_EPS), b = Math.max(q.data[i], KL_EPS);
    s += (a - b) * Math.log(a / b); // KL(p||q) + KL(q||p) summed element-wise
  }
  return result(new Float32Array([s / rows]), [1], [q], (o) => {
    const g = o.grad![0] / rows;
    const qg = q.ensureGrad();
    for (let i = 0; i < q.size; i++) {
      const a = Math.max(p[i], KL_EPS), b = Math.max(q.data[i], KL_EPS);
      if (q.data[i] < KL_EPS) continue; // floored: no gradient
      // d/db [(a - b)(log a - log b)] = -(log a - log b) - (a - b)/b
      qg[i] += g * (-Math.log(a / b) - (a - b) / b);
    }
  });
}

export function cosineLoss(x: Tensor, target: Float32Array, rowLen: number): Tensor {
  const rows = x.size / rowLen;
  const cos = new Float64Array(rows), nx = new Float64Array(rows), nt = new Float64Array(rows);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0, xx = 0, tt = 0;
    for (let j = 0; j < rowLen; j++) {
      const a = x.data[r * rowLen + j], b = target[r * rowLen + j];
      dot += a * b; xx += a * a; tt += b * b;
    }
    nx[r] = Math.sqrt(xx) || 1; nt[r] = Math.sqrt(tt) || 1;
    cos[r] = dot / (nx[r] * nt[r]);
    total += 1 - cos[r];
  }
  return result(new Float32Array([total / rows]), [1], [x], (o) => {
    const g = o.grad![0] / rows;
    const xg = x.ensureGrad();
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < rowLen; j++) {
        const i = r * rowLen + j;
        // d cos / d x = t / (|x||t|) - cos * x / |x|^2
        xg[i] -= g * (target[i] / (nx[r] * nt[r]) - (cos[r] * x.data[i]) / (nx[r] * nx[r]));
      }
    }
  });
}

/** Weighted sum of scalar losses. */
export function weightedSum(terms: { loss: Tensor; weight: number }[]): Tensor {
  let s = 0;
  for (const t of terms) s += t.weight * t.loss.data[0];
  return result(new Float32Array([s]), [1], terms.map((t) => t.loss), (o) => {
    for (const t of terms) if (t.loss.requiresGrad) t.loss.ensureGrad()[0] += o.grad![0] * t.weight;
  });
}

/** The linear layer op: y[m, n] = x[m, k] W[n, k]^T (+ b[n]), weights in HF [out, in] layout. */
import { Tensor, result } from './tensor.ts';
import { matmulNT, matmulNNAccumulate, matmulTNAccumulate } from './kernels.ts';

export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const [n, k] = w.shape;
  if (x.size % k !== 0 || x.shape[x.shape.length - 1] !== k) {
    throw new RangeError(`linear: input last axis is ${x.shape[x.shape.length - 1]}, weight expects ${k}`);
  }
  const m = x.size / k;
  const y = matmulNT(x.data, w.data, m, n, k);
  if (b) for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) y[r * n + c] += b.data[c];
  const inputs = b ? [x, w, b] : [x, w];
  return result(y, [m, n], inputs, (o) => {
    const g = o.grad!;
    if (x.requiresGrad) matmulNNAccumulate(g, w.data, m, n, k, x.ensureGrad());
    if (w.requiresGrad) matmulTNAccumulate(g, x.data, m, n, k, w.ensureGrad());
    if (b?.requiresGrad) {
      const bg = b.ensureGrad();
      for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) bg[c] += g[r * n + c];
    }
  });
}

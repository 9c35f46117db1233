/** SwiGLU: y = silu(gate) * up, with silu(x) = x * sigmoid(x). */
import { Tensor, result } from './tensor.ts';

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function swiglu(gate: Tensor, up: Tensor): Tensor {
  if (gate.size !== up.size) throw new RangeError(`swiglu: gate has ${gate.size} values, up has ${up.size}`);
  const y = new Float32Array(gate.size);
  for (let i = 0; i < y.length; i++) {
    const g = gate.data[i];
    y[i] = ((g * sigmoid(g)) * up.data[i]);
  }
  return result(y, gate.shape, [gate, up], (o) => {
    const gy = o.grad!;
    const gg = gate.requiresGrad ? gate.ensureGrad() : null;
    const ug = up.requiresGrad ? up.ensureGrad() : null;
    for (let i = 0; i < gy.length; i++) {
      const g = gate.data[i];
      const sg = sigmoid(g);
      if (ug) ug[i] += gy[i] * g * sg;
      if (gg) gg[i] += gy[i] * up.data[i] * sg * (1 + g * (1 - sg));
    }
  });
}

/** Element-wise sigmoid op (LWC clip factors are sigmoid(theta)). */
export function sigmoidOp(x: Tensor): Tensor {
  const y = new Float32Array(x.size);
  for (let i = 0; i < y.length; i++) y[i] = sigmoid(x.data[i]);
  return result(y, x.shape, [x], (o) => {
    const g = o.grad!;
    const xg = x.ensureGrad();
    for (let i = 0; i < g.length; i++) xg[i] += g[i] * y[i] * (1 - y[i]);
  });
}

/**
 * Element-wise and broadcast ops. Shapes are row-major; "row vector" ops broadcast a [n] vector
 * over the last axis of an [m, n] tensor (per-channel scales), "column" ops a [m] vector over rows.
 */
import { Tensor, result } from './tensor.ts';

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.size !== b.size) throw new RangeError(`${op}: shapes [${a.shape}] and [${b.shape}] differ`);
}

export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'add');
  const y = new Float32Array(a.size);
  for (let i = 0; i < y.length; i++) y[i] = a.data[i] + b.data[i];
  return result(y, a.shape, [a, b], (o) => {
    const g = o.grad!;
    for (const t of [a, b]) if (t.requiresGrad) { const tg = t.ensureGrad(); for (let i = 0; i < g.length; i++) tg[i] += g[i]; }
  });
}

export function sub(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'sub');
  const y = new Float32Array(a.size);
  for (let i = 0; i < y.length; i++) y[i] = a.data[i] - b.data[i];
  return result(y, a.shape, [a, b], (o) => {
    const g = o.grad!;
    if (a.requiresGrad) { const ag = a.ensureGrad(); for (let i = 0; i < g.length; i++) ag[i] += g[i]; }
    if (b.requiresGrad) { const bg = b.ensureGrad(); for (let i = 0; i < g.length; i++) bg[i] -= g[i]; }
  });
}

export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'mul');
  const y = new Float32Array(a.size);
  for (let i = 0; i < y.length; i++) y[i] = a.data[i] * b.data[i];
  return result(y, a.shape, [a, b], (o) => {
    const g = o.grad!;
    if (a.requiresGrad) { const ag = a.ensureGrad(); for (let i = 0; i < g.length; i++) ag[i] += g[i] * b.data[i]; }
    if (b.requiresGrad) { const bg = b.ensureGrad(); for (let i = 0; i < g.length; i++) bg[i] += g[i] * a.data[i]; }
  });
}

function lastDim(t: Tensor): number {
  return t.shape[t.shape.length - 1];
}

/** y[i, j] = x[i, j] * v[j] (or / v[j] when `divide`). */
export function mulRowVector(x: Tensor, v: Tensor, divide = false): Tensor {
  const n = lastDim(x);
  if (v.size !== n) throw new RangeError(`row vector has ${v.size} values, last axis is ${n}`);
  const y = new Float32Array(x.size);
  const rows = x.size / n;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) y[r * n + j] = divide ? x.data[r * n + j] / v.data[j] : x.data[r * n + j] * v.data[j];
  }
  return result(y, x.shape, [x, v], (o) => {
    const g = o.grad!;
    const xg = x.requiresGrad ? x.ensureGrad() : null;
    const vg = v.requiresGrad ? v.ensureGrad() : null;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        const i = r * n + j;
        if (divide) {
          if (xg) xg[i] += g[i] / v.data[j];
          if (vg) vg[j] -= (g[i] * x.data[i]) / (v.data[j] * v.data[j]);
        } else {
          if (xg) xg[i] += g[i] * v.data[j];
          if (vg) vg[j] += g[i] * x.data[i];
        }
      }
    }
  });
}

/** y[i, j] = x[i, j] * v[i] (or / v[i]): scales whole rows, e.g. output channels of a weight. */
export function mulColVector(x: Tensor, v: Tensor, divide = false): Tensor {
  const n = lastDim(x);
  const rows = x.size / n;
  if (v.size !== rows) throw new RangeError(`column vector has ${v.size} values, tensor has ${rows} rows`);
  const y = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    const s = v.data[r];
    for (let j = 0; j < n; j++) y[r * n + j] = divide ? x.data[r * n + j] / s : x.data[r * n + j] * s;
  }
  return result(y, x.shape, [x, v], (o) => {
    const g = o.grad!;
    const xg = x.requiresGrad ? x.ensureGrad() : null;
    const vg = v.requiresGrad ? v.ensureGrad() : null;
    for (let r = 0; r < rows; r++) {
      const s = v.data[r];
      let acc = 0;
      for (let j = 0; j < n; j++) {
        const i = r * n + j;
        if (xg) xg[i] += divide ? g[i] / s : g[i] * s;
        acc += g[i] * x.data[i];
      }
      if (vg) vg[r] += divide ? -acc / (s * s) : acc;
    }
  });
}

/** y[i, j] = x[i, j] + v[j]. */
export function addRowVector(x: Tensor, v: Tensor): Tensor {
  const n = lastDim(x);
  if (v.size !== n) throw new RangeError(`row vector has ${v.size} values, last axis is ${n}`);
  const y = new Float32Array(x.size);
  const rows = x.size / n;
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) y[r * n + j] = x.data[r * n + j] + v.data[j];
  return result(y, x.shape, [x, v], (o) => {
    const g = o.grad!;
    if (x.requiresGrad) { const xg = x.ensureGrad(); for (let i = 0; i < g.length; i++) xg[i] += g[i]; }
    if (v.requiresGrad) { const vg = v.ensureGrad(); for (let i = 0; i < g.length; i++) vg[i % n] += g[i]; }
  });
}

export function scale(x: Tensor, c: number): Tensor {
  const y = new Float32Array(x.size);
  for (let i = 0; i < y.length; i++) y[i] = x.data[i] * c;
  return result(y, x.shape, [x], (o) => {
    const g = o.grad!;
    const xg = x.ensureGrad();
    for (let i = 0; i < g.length; i++) xg[i] += g[i] * c;
  });
}

/** Element-wise exp (used to keep LET scales positive: s = exp(theta)). */
export function exp(x: Tensor): Tensor {
  const y = new Float32Array(x.size);
  for (let i = 0; i < y.length; i++) y[i] = Math.exp(x.data[i]);
  return result(y, x.shape, [x], (o) => {
    const g = o.grad!;
    const xg = x.ensureGrad();
    for (let i = 0; i < g.length; i++) xg[i] += g[i] * y[i];
  });
}

/** Gathers values by index: y[i] = x[index[i]] (e.g. expands per-kv-head scales to query heads). */
export function gather(x: Tensor, index: Int32Array): Tensor {
  const y = new Float32Array(index.length);
  for (let i = 0; i < y.length; i++) y[i] = x.data[index[i]];
  return result(y, [index.length], [x], (o) => {
    const g = o.grad!;
    const xg = x.ensureGrad();
    for (let i = 0; i < g.length; i++) xg[index[i]] += g[i];
  });
}

/** Reinterprets the data under a new shape of the same size (shares data; gradient passes through). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return result(x.data, shape, [x], (o) => {
    const g = o.grad!;
    const xg = x.ensureGrad();
    for (let i = 0; i < g.length; i++) xg[i] += g[i];
  });
}

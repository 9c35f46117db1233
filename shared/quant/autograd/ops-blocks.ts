/**
 * Block-diagonal matrix ops for AffineQuant: small [d, d] matrices applied to groups of rows or
 * columns of a weight, and their inverse.
 *
 * Layout: M is [nb, d, d] row-major (block b at offset b*d*d). `transpose` applies M^T instead of M.
 *   leftBlocks:  W'[b*d + i, :] = sum_j M_b[i, j] W[b*d + j, :]        (W' = M W per row block)
 *   rightBlocks: W'[:, c*d + i] = sum_j W[:, c*d + j] M_map[c][j, i]   (W' = W M per column block)
 * `map[c]` picks the block for column block c (with GQA several query heads share one kv head).
 */
import { Tensor, result } from './tensor.ts';

function at(m: Float32Array, b: number, d: number, i: number, j: number, transpose: boolean): number {
  return transpose ? m[b * d * d + j * d + i] : m[b * d * d + i * d + j];
}

function addAt(g: Float32Array, b: number, d: number, i: number, j: number, transpose: boolean, v: number): void {
  if (transpose) g[b * d * d + j * d + i] += v;
  else g[b * d * d + i * d + j] += v;
}

export function leftBlocks(m: Tensor, w: Tensor, d: number, transpose = false): Tensor {
  const [n, k] = w.shape;
  const nb = n / d;
  if (m.size !== nb * d * d) throw new RangeError(`leftBlocks: ${n} rows need ${nb} blocks of ${d}x${d}`);
  const y = new Float32Array(w.size);
  for (let b = 0; b < nb; b++) {
    for (let i = 0; i < d; i++) {
      const yo = (b * d + i) * k;
      for (let j = 0; j < d; j++) {
        const c = at(m.data, b, d, i, j, transpose);
        const wo = (b * d + j) * k;
        for (let col = 0; col < k; col++) y[yo + col] += c * w.data[wo + col];
      }
    }
  }
  return result(y, w.shape, [m, w], (o) => {
    const g = o.grad!;
    const mg = m.requiresGrad ? m.ensureGrad() : null;
    const wg = w.requiresGrad ? w.ensureGrad() : null;
    for (let b = 0; b < nb; b++) {
      for (let i = 0; i < d; i++) {
        const go = (b * d + i) * k;
        for (let j = 0; j < d; j++) {
          const wo = (b * d + j) * k;
          const c = at(m.data, b, d, i, j, transpose);
          let dot = 0;
          for (let col = 0; col < k; col++) {
            dot += g[go + col] * w.data[wo + col];
            if (wg) wg[wo + col] += c * g[go + col];
          }
          if (mg) addAt(mg, b, d, i, j, transpose, dot);
        }
      }
    }
  });
}

export function rightBlocks(w: Tensor, m: Tensor, d: number, map: Int32Array, transpose = false): Tensor {
  const [n, k] = w.shape;
  if (map.length * d !== k) throw new RangeError(`rightBlocks: ${k} columns need ${k / d} block indices, got ${map.length}`);
  const y = new Float32Array(w.size);
  for (let r = 0; r < n; r++) {
    for (let cb = 0; cb < map.length; cb++) {
      const b = map[cb];
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += w.data[r * k + cb * d + j] * at(m.data, b, d, j, i, transpose);
        y[r * k + cb * d + i] = s;
      }
    }
  }
  return result(y, w.shape, [w, m], (o) => {
    const g = o.grad!;
    const mg = m.requiresGrad ? m.ensureGrad() : null;
    const wg = w.requiresGrad ? w.ensureGrad() : null;
    for (let r = 0; r < n; r++) {
      for (let cb = 0; cb < map.length; cb++) {
        const b = map[cb];
        for (let i = 0; i < d; i++) {
          const gv = g[r * k + cb * d + i];
          for (let j = 0; j < d; j++) {
            if (wg) wg[r * k + cb * d + j] += gv * at(m.data, b, d, j, i, transpose);
            if (mg) addAt(mg, b, d, j, i, transpose, w.data[r * k + cb * d + j] * gv);
          }
        }
      }
    }
  });
}

/** Inverts one [d, d] matrix (Gauss-Jordan with partial pivoting, f64). Throws if singular. */
export function invertMatrix(a: Float32Array | Float64Array, d: number, offset = 0): Float64Array {
  const m = new Float64Array(d * 2 * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) m[i * 2 * d + j] = a[offset + i * d + j];
    m[i * 2 * d + d + i] = 1;
  }
  for (let c = 0; c < d; c++) {
    let piv = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(m[r * 2 * d + c]) > Math.abs(m[piv * 2 * d + c])) piv = r;
    const pv = m[piv * 2 * d + c];
    if (!(Math.abs(pv) > 1e-12)) throw new RangeError(`matrix is singular (pivot ${pv} in column ${c})`);
    if (piv !== c) for (let j = 0; j < 2 * d; j++) { const t = m[c * 2 * d + j]; m[c * 2 * d + j] = m[piv * 2 * d + j]; m[piv * 2 * d + j] = t; }
    for (let j = 0; j < 2 * d; j++) m[c * 2 * d + j] /= pv;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = m[r * 2 * d + c];
      if (f !== 0) for (let j = 0; j < 2 * d; j++) m[r * 2 * d + j] -= f * m[c * 2 * d + j];
    }
  }
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) inv[i * d + j] = m[i * 2 * d + d + j];
  return inv;
}

/** Inverse of each [d, d] block; backward dA = -A^-T G A^-T. */
export function invertBlocks(a: Tensor, d: number): Tensor {
  const nb = a.size / (d * d);
  const y = new Float32Array(a.size);
  for (let b = 0; b < nb; b++) y.set(invertMatrix(a.data, d, b * d * d), b * d * d);
  return result(y, a.shape, [a], (o) => {
    const g = o.grad!;
    const ag = a.ensureGrad();
    for (let b = 0; b < nb; b++) {
      const off = b * d * d;
      // t = Y^T G, then dA = -(t Y^T)
      const t = new Float64Array(d * d);
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
        let s = 0;
        for (let l = 0; l < d; l++) s += y[off + l * d + i] * g[off + l * d + j];
        t[i * d + j] = s;
      }
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
        let s = 0;
        for (let l = 0; l < d; l++) s += t[i * d + l] * y[off + j * d + l];
        ag[off + i * d + j] -= s;
      }
    }
  });
}

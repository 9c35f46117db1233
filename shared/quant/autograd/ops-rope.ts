/**
 * Rotary position embedding in HF's rotate-half layout: within each head of size hd, element j
 * (j < hd/2) pairs with j + hd/2 and the pair is rotated by angle pos * theta^(-2j/hd).
 * The op is a rotation, so its backward is the inverse rotation of the output gradient.
 * Input [T, heads * hd], token t at position positions[t].
 */
import { Tensor, result } from './tensor.ts';

/** cos/sin tables [T, hd/2], computed once per sequence length and reused across ops. */
export interface RopeTable { cos: Float32Array; sin: Float32Array; half: number; t: number }

export function ropeTable(t: number, hd: number, theta: number, offset = 0): RopeTable {
  const half = hd / 2;
  const cos = new Float32Array(t * half);
  const sin = new Float32Array(t * half);
  for (let p = 0; p < t; p++) {
    for (let j = 0; j < half; j++) {
      const invFreq = 1 / Math.pow(theta, (2 * j) / hd);
      const a = (p + offset) * invFreq;
      cos[p * half + j] = Math.cos(a);
      sin[p * half + j] = Math.sin(a);
    }
  }
  return { cos, sin, half, t };
}

function rotate(src: Float32Array, dst: Float32Array, table: RopeTable, heads: number, sign: number): void {
  const { cos, sin, half, t } = table;
  const hd = half * 2;
  const width = heads * hd;
  for (let p = 0; p < t; p++) {
    for (let h = 0; h < heads; h++) {
      const base = p * width + h * hd;
      for (let j = 0; j < half; j++) {
        const c = cos[p * half + j];
        const s = sin[p * half + j] * sign;
        const a = src[base + j];
        const b = src[base + j + half];
        dst[base + j] += a * c - b * s;
        dst[base + j + half] += b * c + a * s;
      }
    }
  }
}

export function rope(x: Tensor, table: RopeTable, heads: number): Tensor {
  const y = new Float32Array(x.size);
  rotate(x.data, y, table, heads, 1);
  return result(y, x.shape, [x], (o) => rotate(o.grad!, x.ensureGrad(), table, heads, -1));
}

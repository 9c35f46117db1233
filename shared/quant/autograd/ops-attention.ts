/**
 * Causal softmax attention with grouped-query heads, split in two ops so the attention map P is a
 * tensor of its own (ABQ's distribution-correction loss compares P of the full-precision and the
 * quantized block).
 *
 * Layout: q [T, H*hd], k and v [T, KV*hd] (one sequence, row t = token t); query head h reads kv
 * head floor(h / (H / KV)). P is [H, T, T] with P[h, t, s] = 0 for s > t (causal mask).
 */
import { Tensor, result } from './tensor.ts';

export interface AttnShape { heads: number; kvHeads: number; headDim: number }

function kvOf(h: number, s: AttnShape): number {
  return Math.floor(h / (s.heads / s.kvHeads));
}

/** P = softmax(q k^T / sqrt(hd) + causal mask), per query head. */
export function attentionProbs(q: Tensor, k: Tensor, shape: AttnShape): Tensor {
  const { heads: H, kvHeads: KV, headDim: hd } = shape;
  const T = q.size / (H * hd);
  const scaleF = 1 / Math.sqrt(hd);
  const p = new Float32Array(H * T * T);
  const row = new Float64Array(T);
  for (let h = 0; h < H; h++) {
    const kh = kvOf(h, shape);
    for (let t = 0; t < T; t++) {
      const qo = t * H * hd + h * hd;
      let mx = -Infinity;
      for (let s = 0; s <= t; s++) {
        const ko = s * KV * hd + kh * hd;
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += q.data[qo + d] * k.data[ko + d];
        row[s] = dot * scaleF;
        if (row[s] > mx) mx = row[s];
      }
      let sum = 0;
      for (let s = 0; s <= t; s++) { row[s] = Math.exp(row[s] - mx); sum += row[s]; }
      const po = (h * T + t) * T;
      for (let s = 0; s <= t; s++) p[po + s] = row[s] / sum;
    }
  }
  return result(p, [H, T, T], [q, k], (o) => {
    const gp = o.grad!;
    const qg = q.requiresGrad ? q.ensureGrad() : null;
    const kg = k.requiresGrad ? k.ensureGrad() : null;
    for (let h = 0; h < H; h++) {
      const kh = kvOf(h, shape);
      for (let t = 0; t < T; t++) {
        const po = (h * T + t) * T;
        let dotPG = 0;
        for (let s = 0; s <= t; s++) dotPG += p[po + s] * gp[po + s];
        const qo = t * H * hd + h * hd;
        for (let s = 0; s <= t; s++) {
          const ds = p[po + s] * (gp[po + s] - dotPG) * scaleF;
          if (ds === 0) continue;
          const ko = s * KV * hd + kh * hd;
          for (let d = 0; d < hd; d++) {
            if (qg) qg[qo + d] += ds * k.data[ko + d];
            if (kg) kg[ko + d] += ds * q.data[qo + d];
          }
        }
      }
    }
  });
}

/** out[t, h*hd + d] = sum_s P[h, t, s] v[s, kv(h)*hd + d]. */
export function attentionApply(p: Tensor, v: Tensor, shape: AttnShape): Tensor {
  const { heads: H, kvHeads: KV, headDim: hd } = shape;
  const T = p.shape[1];
  const out = new Float32Array(T * H * hd);
  for (let h = 0; h < H; h++) {
    const kh = kvOf(h, shape);
    for (let t = 0; t < T; t++) {
      const po = (h * T + t) * T;
      const oo = t * H * hd + h * hd;
      for (let s = 0; s <= t; s++) {
        const w = p.data[po + s];
        const vo = s * KV * hd + kh * hd;
        for (let d = 0; d < hd; d++) out[oo + d] += w * v.data[vo + d];
      }
    }
  }
  return result(out, [T, H * hd], [p, v], (o) => {
    const g = o.grad!;
    const pg = p.requiresGrad ? p.ensureGrad() : null;
    const vg = v.requiresGrad ? v.ensureGrad() : null;
    for (let h = 0; h < H; h++) {
      const kh = kvOf(h, shape);
      for (let t = 0; t < T; t++) {
        const po = (h * T + t) * T;
        const oo = t * H * hd + h * hd;
        for (let s = 0; s <= t; s++) {
          const vo = s * KV * hd + kh * hd;
          let dot = 0;
          const w = p.data[po + s];
          for (let d = 0; d < hd; d++) {
            dot += g[oo + d] * v.data[vo + d];
            if (vg) vg[vo + d] += w * g[oo + d];
          }
          if (pg) pg[po + s] += dot;
        }
      }
    }
  });
}

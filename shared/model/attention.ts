/**
 * Causal scaled-dot-product attention over a KV cache, with grouped-query attention (query head h
 * reads kv head floor(h / (heads / kvHeads))) and an optional sliding window.
 */

export interface AttentionShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Each query attends to at most this many positions, itself included (HF's Mistral rule). */
  slidingWindow?: number;
}

/**
 * q: [n][heads][headDim] for tokens at positions pos0 .. pos0+n-1 (RoPE already applied).
 * keys/values: [position][kvHeads][headDim], holding at least positions 0 .. pos0+n-1.
 * Returns [n][heads][headDim]. Softmax in f64 with the max subtracted.
 */
export function attention(q: Float32Array, n: number, pos0: number, keys: Float32Array, values: Float32Array, shape: AttentionShape, out = new Float32Array(n * shape.heads * shape.headDim)): Float32Array {
  const { heads, kvHeads, headDim } = shape;
  const group = heads / kvHeads;
  const row = kvHeads * headDim;
  const scale = 1 / Math.sqrt(headDim);
  const window = shape.slidingWindow ?? Infinity;
  const scores = new Float64Array(pos0 + n);
  const acc = new Float64Array(headDim);
  for (let t = 0; t < n; t++) {
    const pos = pos0 + t;
    const start = Math.max(0, pos - window + 1);
    for (let h = 0; h < heads; h++) {
      const qo = (t * heads + h) * headDim;
      const kvo = Math.floor(h / group) * headDim;
      let max = -Infinity;
      for (let j = start; j <= pos; j++) {
        const ko = j * row + kvo;
        let s = 0;
        for (let i = 0; i < headDim; i++) s += q[qo + i] * keys[ko + i];
        s *= scale;
        scores[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = start; j <= pos; j++) {
        const e = Math.exp(scores[j] - max);
        scores[j] = e;
        sum += e;
      }
      // Weighted sum of value rows in position order (contiguous reads), accumulated in f64.
      acc.fill(0);
      for (let j = start; j <= pos; j++) {
        const p = scores[j];
        const vo = j * row + kvo;
        for (let i = 0; i < headDim; i++) acc[i] += p * values[vo + i];
      }
      const inv = 1 / sum;
      for (let i = 0; i < headDim; i++) out[qo + i] = acc[i] * inv;
    }
  }
  return out;
}

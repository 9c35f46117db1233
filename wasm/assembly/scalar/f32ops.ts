/**
 * f32 kernels for the rest of a LLaMA block, scalar twins of simd/f32ops.ts. Row-major, f32 storage.
 * KV cache of one layer: k and v f32 [maxSeq][nKv * headDim]; position t of the cache holds token t.
 *
 * RMSNorm, RoPE, attention and SwiGLU compute in f64 and round once when storing, step for step as
 * the reference (shared/model): the next layer quantizes these values to integer codes, and a
 * one-ulp difference there can flip a code, so matching the reference's rounding keeps the integer
 * path's tokens identical. They are O(hidden) or O(context) per token: f64 costs nothing measurable.
 */

/** y[r][c] = sum_k x[r][k] * w[c][k] (+ bias[c]); w f32 [N][K] (lm_head, dense layers). */
export function matmulF32(x: usize, m: i32, k: i32, w: usize, n: i32, bias: usize, out: usize): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * <usize>k) << 2);
    for (let c = 0; c < n; c++) {
      const wr = w + ((<usize>c * <usize>k) << 2);
      let s: f32 = 0;
      for (let i = 0; i < k; i++) s += load<f32>(xr + (<usize>i << 2)) * load<f32>(wr + (<usize>i << 2));
      if (bias) s += load<f32>(bias + (<usize>c << 2));
      store<f32>(out + ((<usize>(r * n + c)) << 2), s);
    }
  }
}

/** out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w. */
export function rmsNorm(x: usize, w: usize, out: usize, m: i32, dim: i32, eps: f64): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * <usize>dim) << 2);
    const yr = out + ((<usize>r * <usize>dim) << 2);
    let ss: f64 = 0;
    for (let i = 0; i < dim; i++) { const v = <f64>load<f32>(xr + (<usize>i << 2)); ss += v * v; }
    const inv: f64 = 1 / Math.sqrt(ss / <f64>dim + eps);
    for (let i = 0; i < dim; i++) {
      store<f32>(yr + (<usize>i << 2), <f32>(<f64>load<f32>(xr + (<usize>i << 2)) * inv * <f64>load<f32>(w + (<usize>i << 2))));
    }
  }
}

/** a[i] += b[i] (residual connections). */
export function addInPlace(a: usize, b: usize, len: i32): void {
  for (let i = 0; i < len; i++) {
    const p = a + (<usize>i << 2);
    store<f32>(p, load<f32>(p) + load<f32>(b + (<usize>i << 2)));
  }
}

/** out[i] = silu(gate[i]) * up[i]. */
export function swiglu(gate: usize, up: usize, out: usize, len: i32): void {
  for (let i = 0; i < len; i++) {
    const g = <f64>load<f32>(gate + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), <f32>((g / (1 + Math.exp(-g))) * <f64>load<f32>(up + (<usize>i << 2))));
  }
}

/**
 * Rotate-half RoPE (Hugging Face layout) in place on x [M][rowStride], heads of headDim starting at 0;
 * token r sits at position pos0 + r; cos/sin f32 [maxPos][headDim / 2].
 */
export function ropeRotateHalf(x: usize, m: i32, rowStride: i32, nHeads: i32, headDim: i32, cosTab: usize, sinTab: usize, pos0: i32): void {
  const half = headDim >> 1;
  for (let r = 0; r < m; r++) {
    const tab = (<usize>(pos0 + r) * <usize>half) << 2;
    for (let h = 0; h < nHeads; h++) {
      const base = x + ((<usize>(r * rowStride + h * headDim)) << 2);
      for (let i = 0; i < half; i++) {
        const c = <f64>load<f32>(cosTab + tab + (<usize>i << 2));
        const s = <f64>load<f32>(sinTab + tab + (<usize>i << 2));
        const p0 = base + (<usize>i << 2);
        const p1 = base + (<usize>(i + half) << 2);
        const a = <f64>load<f32>(p0), b = <f64>load<f32>(p1);
        store<f32>(p0, <f32>(a * c - b * s));
        store<f32>(p1, <f32>(b * c + a * s));
      }
    }
  }
}

/**
 * Causal GQA attention for M new tokens at positions pos0..pos0+M-1, whose K/V are already in the
 * cache. q and out: f32 [M][nHeads * headDim]; scratch: f64 [pos0 + M] scores then [headDim] sums.
 */
export function attention(q: usize, out: usize, m: i32, pos0: i32, nHeads: i32, nKv: i32, headDim: i32,
  kCache: usize, vCache: usize, scratch: usize): void {
  const group = nHeads / nKv;
  const kvStride = nKv * headDim;
  const scale: f64 = 1 / Math.sqrt(<f64>headDim);
  for (let r = 0; r < m; r++) {
    const len = pos0 + r + 1;
    const acc = scratch + (<usize>len << 3);
    for (let h = 0; h < nHeads; h++) {
      const qh = q + ((<usize>(r * nHeads * headDim + h * headDim)) << 2);
      const kvOff = (<usize>((h / group) * headDim)) << 2;
      let mx: f64 = -Infinity;
      for (let t = 0; t < len; t++) {
        const kt = kCache + ((<usize>t * <usize>kvStride) << 2) + kvOff;
        let s: f64 = 0;
        for (let i = 0; i < headDim; i++) s += <f64>load<f32>(qh + (<usize>i << 2)) * <f64>load<f32>(kt + (<usize>i << 2));
        s *= scale;
        store<f64>(scratch + (<usize>t << 3), s);
        if (s > mx) mx = s;
      }
      let sum: f64 = 0;
      for (let t = 0; t < len; t++) {
        const e = Math.exp(load<f64>(scratch + (<usize>t << 3)) - mx);
        store<f64>(scratch + (<usize>t << 3), e);
        sum += e;
      }
      for (let i = 0; i < headDim; i++) store<f64>(acc + (<usize>i << 3), 0);
      for (let t = 0; t < len; t++) {
        const p = load<f64>(scratch + (<usize>t << 3));
        const vt = vCache + ((<usize>t * <usize>kvStride) << 2) + kvOff;
        for (let i = 0; i < headDim; i++) {
          const o = acc + (<usize>i << 3);
          store<f64>(o, load<f64>(o) + p * <f64>load<f32>(vt + (<usize>i << 2)));
        }
      }
      const inv: f64 = 1 / sum;
      const oh = out + ((<usize>(r * nHeads * headDim + h * headDim)) << 2);
      for (let i = 0; i < headDim; i++) store<f32>(oh + (<usize>i << 2), <f32>(load<f64>(acc + (<usize>i << 3)) * inv));
    }
  }
}

/** Copies rows tokens[r] of table f32 [vocab][dim] into out [M][dim]; tokens i32 [M]. */
export function embedRows(table: usize, tokens: usize, m: i32, dim: i32, out: usize): void {
  const bytes = <usize>dim << 2;
  for (let r = 0; r < m; r++) {
    const t = <usize>load<i32>(tokens + (<usize>r << 2));
    memory.copy(out + <usize>r * bytes, table + t * bytes, bytes);
  }
}

/** Index of the largest value (the first one on ties), -1 when n == 0. */
export function argmax(x: usize, n: i32): i32 {
  let best = -1;
  let bv: f32 = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (best < 0 || v > bv) { bv = v; best = i; }
  }
  return best;
}

/**
 * f32 kernels for the rest of a LLaMA block, scalar twins of simd/f32ops.ts. Row-major, f32.
 * KV cache of one layer: k and v f32 [maxSeq][nKv * headDim]; position t of the cache holds token t.
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
export function rmsNorm(x: usize, w: usize, out: usize, m: i32, dim: i32, eps: f32): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * <usize>dim) << 2);
    const yr = out + ((<usize>r * <usize>dim) << 2);
    let ss: f32 = 0;
    for (let i = 0; i < dim; i++) { const v = load<f32>(xr + (<usize>i << 2)); ss += v * v; }
    const inv: f32 = <f32>1 / Mathf.sqrt(ss / <f32>dim + eps);
    for (let i = 0; i < dim; i++) {
      store<f32>(yr + (<usize>i << 2), load<f32>(xr + (<usize>i << 2)) * inv * load<f32>(w + (<usize>i << 2)));
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
    const g = load<f32>(gate + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), (g / (<f32>1 + Mathf.exp(-g))) * load<f32>(up + (<usize>i << 2)));
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
        const c = load<f32>(cosTab + tab + (<usize>i << 2));
        const s = load<f32>(sinTab + tab + (<usize>i << 2));
        const p0 = base + (<usize>i << 2);
        const p1 = base + (<usize>(i + half) << 2);
        const a = load<f32>(p0), b = load<f32>(p1);
        store<f32>(p0, a * c - b * s);
        store<f32>(p1, b * c + a * s);
      }
    }
  }
}

/**
 * Causal GQA attention for M new tokens at positions pos0..pos0+M-1, whose K/V are already in the
 * cache. q and out: f32 [M][nHeads * headDim]; scores: scratch f32 [pos0 + M].
 */
export function attention(q: usize, out: usize, m: i32, pos0: i32, nHeads: i32, nKv: i32, headDim: i32,
  kCache: usize, vCache: usize, scores: usize): void {
  const group = nHeads / nKv;
  const kvStride = nKv * headDim;
  const scale: f32 = <f32>1 / Mathf.sqrt(<f32>headDim);
  for (let r = 0; r < m; r++) {
    const len = pos0 + r + 1;
    for (let h = 0; h < nHeads; h++) {
      const qh = q + ((<usize>(r * nHeads * headDim + h * headDim)) << 2);
      const kvOff = (<usize>((h / group) * headDim)) << 2;
      let mx: f32 = -Infinity;
      for (let t = 0; t < len; t++) {
        const kt = kCache + ((<usize>t * <usize>kvStride) << 2) + kvOff;
        let s: f32 = 0;
        for (let i = 0; i < headDim; i++) s += load<f32>(qh + (<usize>i << 2)) * load<f32>(kt + (<usize>i << 2));
        s *= scale;
        store<f32>(scores + (<usize>t << 2), s);
        if (s > mx) mx = s;
      }
      let sum: f32 = 0;
      for (let t = 0; t < len; t++) {
        const e = Mathf.exp(load<f32>(scores + (<usize>t << 2)) - mx);
        store<f32>(scores + (<usize>t << 2), e);
        sum += e;
      }
      const inv: f32 = <f32>1 / sum;
      const oh = out + ((<usize>(r * nHeads * headDim + h * headDim)) << 2);
      for (let i = 0; i < headDim; i++) store<f32>(oh + (<usize>i << 2), 0);
      for (let t = 0; t < len; t++) {
        const p = load<f32>(scores + (<usize>t << 2)) * inv;
        const vt = vCache + ((<usize>t * <usize>kvStride) << 2) + kvOff;
        for (let i = 0; i < headDim; i++) {
          const o = oh + (<usize>i << 2);
          store<f32>(o, load<f32>(o) + p * load<f32>(vt + (<usize>i << 2)));
        }
      }
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

/**
 * f32 kernels (SIMD; contracts in scalar/f32ops.ts). RoPE, embedding lookup and argmax are not
 * worth vectorizing at these sizes and are the scalar ones (re-exported by the SIMD entry).
 */

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Dot product of two f32 vectors of length n with four independent accumulators. */
// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, n: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
    s2 = f32x4.add(s2, f32x4.mul(v128.load(a + o, 32), v128.load(b + o, 32)));
    s3 = f32x4.add(s3, f32x4.mul(v128.load(a + o, 48), v128.load(b + o, 48)));
  }
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

export function matmulF32(x: usize, m: i32, k: i32, w: usize, n: i32, bias: usize, out: usize): void {
  for (let c = 0; c < n; c++) {
    const wr = w + ((<usize>c * <usize>k) << 2);
    for (let r = 0; r < m; r++) {
      let s = dot(x + ((<usize>r * <usize>k) << 2), wr, k);
      if (bias) s += load<f32>(bias + (<usize>c << 2));
      store<f32>(out + ((<usize>(r * n + c)) << 2), s);
    }
  }
}

export function rmsNorm(x: usize, w: usize, out: usize, m: i32, dim: i32, eps: f32): void {
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * <usize>dim) << 2);
    const yr = out + ((<usize>r * <usize>dim) << 2);
    const inv: f32 = <f32>1 / Mathf.sqrt(dot(xr, xr, dim) / <f32>dim + eps);
    const vinv = f32x4.splat(inv);
    let i = 0;
    for (; i + 4 <= dim; i += 4) {
      const o = <usize>i << 2;
      v128.store(yr + o, f32x4.mul(f32x4.mul(v128.load(xr + o), vinv), v128.load(w + o)));
    }
    for (; i < dim; i++) store<f32>(yr + (<usize>i << 2), load<f32>(xr + (<usize>i << 2)) * inv * load<f32>(w + (<usize>i << 2)));
  }
}

export function addInPlace(a: usize, b: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(a + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < len; i++) store<f32>(a + (<usize>i << 2), load<f32>(a + (<usize>i << 2)) + load<f32>(b + (<usize>i << 2)));
}

export function swiglu(gate: usize, up: usize, out: usize, len: i32): void {
  for (let i = 0; i < len; i++) {
    const g = load<f32>(gate + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), (g / (<f32>1 + Mathf.exp(-g))) * load<f32>(up + (<usize>i << 2)));
  }
}

/** out += p * v over headDim (the attention value sum). */
// @ts-ignore: decorator
@inline function axpy(out: usize, v: usize, p: f32, n: i32): void {
  const vp = f32x4.splat(p);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.add(v128.load(out + o), f32x4.mul(vp, v128.load(v + o))));
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), load<f32>(out + (<usize>i << 2)) + p * load<f32>(v + (<usize>i << 2)));
}

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
        const s = dot(qh, kCache + ((<usize>t * <usize>kvStride) << 2) + kvOff, headDim) * scale;
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
      memory.fill(oh, 0, <usize>headDim << 2);
      for (let t = 0; t < len; t++) {
        axpy(oh, vCache + ((<usize>t * <usize>kvStride) << 2) + kvOff, load<f32>(scores + (<usize>t << 2)) * inv, headDim);
      }
    }
  }
}

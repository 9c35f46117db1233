/**
 * Dynamic per-token activation quantization and bit-plane packing, scalar twin.
 * Reproduces shared/numerics/act-quant.ts bit for bit: every step is one f32 operation
 * (f32.nearest rounds half to even, like the reference's roundHalfEven(Math.fround(..))).
 * Layouts: see ../layout.ts.
 */

/** Scale, reciprocal and zero point of one group; writes scale and zero, returns inv. */
// @ts-ignore: decorator
@inline export function actGroupParams(mn: f32, mx: f32, qmax: i32, scaleOut: usize, zeroOut: usize): f32 {
  const lo = min<f32>(0, mn);
  const hi = max<f32>(0, mx);
  const range: f32 = hi - lo;
  let scale: f32 = range / <f32>qmax;
  if (!(scale > 0) || !isFinite<f32>(scale)) scale = 1;
  const inv: f32 = <f32>1 / scale;
  let z = nearest<f32>(-lo * inv);
  z = z < 0 ? 0 : z > <f32>qmax ? <f32>qmax : z;
  store<f32>(scaleOut, scale);
  store<i32>(zeroOut, <i32>z);
  return inv;
}

/** Code of one value: clamp(rne(x * inv) + zero, 0, qmax). */
// @ts-ignore: decorator
@inline export function actCode(x: f32, inv: f32, zero: f32, qmax: f32): i32 {
  const c = nearest<f32>(x * inv) + zero;
  return c < 0 ? 0 : c > qmax ? <i32>qmax : <i32>c;
}

/**
 * x f32 [M][k] -> codes u8 [M][codeStride] (zero past k), scales f32 [M][AG], zeros i32 [M][AG],
 * code sums i32 [M][SG] over groups of sumGroup (the consuming layer's weight group).
 */
export function quantizeActs(x: usize, m: i32, k: i32, bits: i32, actGroup: i32, sumGroup: i32,
  codes: usize, codeStride: i32, scales: usize, zeros: usize, sums: usize): void {
  const qmax = (1 << bits) - 1;
  const groups = (k + actGroup - 1) / actGroup;
  const sumGroups = (k + sumGroup - 1) / sumGroup;
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * <usize>k) << 2);
    const cr = codes + <usize>r * <usize>codeStride;
    const sr = sums + ((<usize>r * <usize>sumGroups) << 2);
    for (let s = 0; s < sumGroups; s++) store<i32>(sr + (<usize>s << 2), 0);
    for (let g = 0; g < groups; g++) {
      const k0 = g * actGroup;
      const k1 = min(k, k0 + actGroup);
      let mn: f32 = Infinity, mx: f32 = -Infinity;
      for (let i = k0; i < k1; i++) {
        const v = load<f32>(xr + (<usize>i << 2));
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      const pi = (<usize>(r * groups + g)) << 2;
      const inv = actGroupParams(mn, mx, qmax, scales + pi, zeros + pi);
      const zero = <f32>load<i32>(zeros + pi);
      for (let i = k0; i < k1; i++) {
        const c = actCode(load<f32>(xr + (<usize>i << 2)), inv, zero, <f32>qmax);
        store<u8>(cr + <usize>i, <u8>c);
        const sp = sr + (<usize>(i / sumGroup) << 2);
        store<i32>(sp, load<i32>(sp) + c);
      }
    }
    for (let i = k; i < codeStride; i++) store<u8>(cr + <usize>i, 0);
  }
}

/** codes u8 [M][codeStride] -> planes u32 [M][wd][bits], LSB-first (element k at bit k % 32). */
export function packActPlanes(codes: usize, m: i32, k: i32, codeStride: i32, bits: i32, planes: usize): void {
  const wd = (k + 31) >> 5;
  for (let r = 0; r < m; r++) {
    const cr = codes + <usize>r * <usize>codeStride;
    const pr = planes + ((<usize>r * <usize>wd * <usize>bits) << 2);
    for (let w = 0; w < wd; w++) {
      for (let b = 0; b < bits; b++) {
        let word: u32 = 0;
        for (let e = 0; e < 32; e++) {
          word |= ((<u32>load<u8>(cr + <usize>(w * 32 + e)) >> b) & 1) << e;
        }
        store<u32>(pr + ((<usize>(w * bits + b)) << 2), word);
      }
    }
  }
}

/**
 * Weight-only path (A16, SIMD; contract: scalar/a16.ts). Each 16-code slice of a container vector
 * is widened u8 -> u16 -> u32 -> f32, shifted by the zero point (exact in f32), and multiplied
 * with 16 f32 activations into four f32x4 accumulators, reduced once per group.
 */
import { elemsPerVec } from '../layout';

// @ts-ignore: decorator
@inline function slice16(acc: v128, codes: v128, z: v128, xp: usize): v128 {
  const lo = i16x8.extend_low_i8x16_u(codes);
  const hi = i16x8.extend_high_i8x16_u(codes);
  const w0 = f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(lo)), z);
  const w1 = f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(lo)), z);
  const w2 = f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(hi)), z);
  const w3 = f32x4.sub(f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(hi)), z);
  const s01 = f32x4.add(f32x4.mul(w0, v128.load(xp)), f32x4.mul(w1, v128.load(xp, 16)));
  const s23 = f32x4.add(f32x4.mul(w2, v128.load(xp, 32)), f32x4.mul(w3, v128.load(xp, 48)));
  return f32x4.add(acc, f32x4.add(s01, s23));
}

// @ts-ignore: decorator
@inline function a16GemmC(c: i32, x: usize, xStride: i32, wCodes: usize, wScales: usize, wZeros: usize, bias: usize,
  out: usize, m: i32, n: i32, vecsPerRow: i32, groupVecs: i32, groups: i32, nPad: i32): void {
  const elems = elemsPerVec(c);
  for (let row = 0; row < n; row++) {
    const wRow = wCodes + <usize>row * <usize>vecsPerRow * 16;
    for (let r = 0; r < m; r++) {
      const xr = x + ((<usize>r * <usize>xStride) << 2);
      let y: f32 = 0;
      for (let g = 0; g < groups; g++) {
        const v0 = g * groupVecs;
        const v1 = min(vecsPerRow, v0 + groupVecs);
        const wi = (<usize>(g * nPad + row)) << 2;
        const z = f32x4.splat(<f32>load<i32>(wZeros + wi));
        let acc = f32x4.splat(0);
        for (let v = v0; v < v1; v++) {
          const wv = v128.load(wRow + <usize>v * 16);
          const xp = xr + ((<usize>v * <usize>elems) << 2);
          if (c == 8) {
            acc = slice16(acc, wv, z, xp);
          } else if (c == 4) {
            acc = slice16(acc, v128.and(wv, i8x16.splat(0x0f)), z, xp);
            acc = slice16(acc, i8x16.shr_u(wv, 4), z, xp + 64);
          } else {
            const m3 = i8x16.splat(3);
            acc = slice16(acc, v128.and(wv, m3), z, xp);
            acc = slice16(acc, v128.and(i8x16.shr_u(wv, 2), m3), z, xp + 64);
            acc = slice16(acc, v128.and(i8x16.shr_u(wv, 4), m3), z, xp + 128);
            acc = slice16(acc, i8x16.shr_u(wv, 6), z, xp + 192);
          }
        }
        const dot = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        y += load<f32>(wScales + wi) * dot;
      }
      if (bias) y += load<f32>(bias + (<usize>row << 2));
      store<f32>(out + ((<usize>(r * n + row)) << 2), y);
    }
  }
}

export function a16Gemm(c: i32, x: usize, xStride: i32, wCodes: usize, wScales: usize, wZeros: usize, bias: usize,
  out: usize, m: i32, n: i32, vecsPerRow: i32, groupVecs: i32, groups: i32, nPad: i32): bool {
  if (c == 8) a16GemmC(8, x, xStride, wCodes, wScales, wZeros, bias, out, m, n, vecsPerRow, groupVecs, groups, nPad);
  else if (c == 4) a16GemmC(4, x, xStride, wCodes, wScales, wZeros, bias, out, m, n, vecsPerRow, groupVecs, groups, nPad);
  else if (c == 2) a16GemmC(2, x, xStride, wCodes, wScales, wZeros, bias, out, m, n, vecsPerRow, groupVecs, groups, nPad);
  else return false;
  return true;
}

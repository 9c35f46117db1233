/**
 * Integer code path (SIMD): weight codes in 2/4/8-bit byte containers times u8 activation codes,
 * for large bit products p*q where AND+popcount needs p*q passes (layouts: ../layout.ts).
 *
 * Per 16-byte container vector: mask/shift out 16 codes at a time (each slice lines up with 16
 * consecutive activations), multiply with i16x8.extmul_{low,high}_i8x16_u (u8 x u8 -> u16, exact)
 * and add into u16 lanes while they cannot overflow; then widen pairwise into i32 lanes.
 * WASM SIMD has no i8 dot product outside relaxed SIMD, which Node 20 gets wrong (ECOSYSTEM.md).
 */
import { elemsPerVec } from '../layout';

const U16_MAX: i32 = 65535;

// @ts-ignore: decorator
@inline function mulAdd16(acc16: v128, codes: v128, x: v128): v128 {
  return i16x8.add(i16x8.add(acc16, i16x8.extmul_low_i8x16_u(codes, x)), i16x8.extmul_high_i8x16_u(codes, x));
}

// @ts-ignore: decorator
@inline function mulAdd32(acc32: v128, codes: v128, x: v128): v128 {
  acc32 = i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(i16x8.extmul_low_i8x16_u(codes, x)));
  return i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(i16x8.extmul_high_i8x16_u(codes, x)));
}

/** One container vector's products added into u16 lanes (c = container bits, a compile-time constant at each call). */
// @ts-ignore: decorator
@inline function vecProducts16(c: i32, acc16: v128, wv: v128, xp: usize): v128 {
  if (c == 8) return mulAdd16(acc16, wv, v128.load(xp));
  if (c == 4) {
    acc16 = mulAdd16(acc16, v128.and(wv, i8x16.splat(0x0f)), v128.load(xp));
    return mulAdd16(acc16, i8x16.shr_u(wv, 4), v128.load(xp, 16));
  }
  const m3 = i8x16.splat(3);
  acc16 = mulAdd16(acc16, v128.and(wv, m3), v128.load(xp));
  acc16 = mulAdd16(acc16, v128.and(i8x16.shr_u(wv, 2), m3), v128.load(xp, 16));
  acc16 = mulAdd16(acc16, v128.and(i8x16.shr_u(wv, 4), m3), v128.load(xp, 32));
  return mulAdd16(acc16, i8x16.shr_u(wv, 6), v128.load(xp, 48));
}

// @ts-ignore: decorator
@inline function hsum(v: v128): u32 {
  return <u32>(i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3));
}

// @ts-ignore: decorator
@inline function rowGroupDot(c: i32, wRow: usize, xr: usize, v0: i32, v1: i32, vecsPerFlush: i32): u32 {
  const elems = elemsPerVec(c);
  let acc32 = i32x4.splat(0);
  if (vecsPerFlush == 0) {
    // Only c = 8 with p*q near 8x8: one u16 lane cannot hold two products.
    for (let v = v0; v < v1; v++) {
      const wv = v128.load(wRow + <usize>v * 16);
      acc32 = mulAdd32(acc32, wv, v128.load(xr + <usize>v * 16));
    }
    return hsum(acc32);
  }
  while (v0 < v1) {
    const vEnd = min(v1, v0 + vecsPerFlush);
    let acc16 = i16x8.splat(0);
    for (let v = v0; v < vEnd; v++) {
      acc16 = vecProducts16(c, acc16, v128.load(wRow + <usize>v * 16), xr + <usize>v * <usize>elems);
    }
    acc32 = i32x4.add(acc32, i32x4.extadd_pairwise_i16x8_u(acc16));
    v0 = vEnd;
  }
  return hsum(acc32);
}

// @ts-ignore: decorator
@inline function codeGemmC(c: i32, p: i32, q: i32, xCodes: usize, codeStride: i32, wCodes: usize, acc: usize,
  m: i32, n: i32, vecsPerRow: i32, groupVecs: i32, groups: i32, nPad: i32): void {
  const maxProduct = ((1 << p) - 1) * ((1 << q) - 1);
  const productsPerLanePerVec = 2 * (8 / c);
  const vecsPerFlush = U16_MAX / (maxProduct * productsPerLanePerVec);
  if (vecsPerFlush == 0 && c != 8) unreachable(); // c < 8 means p <= 4: 15 * 255 * 8 < 65535
  for (let row = 0; row < n; row++) {
    const wRow = wCodes + <usize>row * <usize>vecsPerRow * 16;
    for (let r = 0; r < m; r++) {
      const xr = xCodes + <usize>r * <usize>codeStride;
      for (let g = 0; g < groups; g++) {
        const v0 = g * groupVecs;
        const total = rowGroupDot(c, wRow, xr, v0, min(vecsPerRow, v0 + groupVecs), vecsPerFlush);
        store<u32>(acc + ((<usize>(r * groups + g) * <usize>nPad + <usize>row) << 2), total);
      }
    }
  }
}

export function codeGemm(c: i32, p: i32, q: i32, xCodes: usize, codeStride: i32, wCodes: usize, acc: usize,
  m: i32, n: i32, vecsPerRow: i32, groupVecs: i32, groups: i32, nPad: i32): bool {
  if (c == 8) codeGemmC(8, p, q, xCodes, codeStride, wCodes, acc, m, n, vecsPerRow, groupVecs, groups, nPad);
  else if (c == 4) codeGemmC(4, p, q, xCodes, codeStride, wCodes, acc, m, n, vecsPerRow, groupVecs, groups, nPad);
  else if (c == 2) codeGemmC(2, p, q, xCodes, codeStride, wCodes, acc, m, n, vecsPerRow, groupVecs, groups, nPad);
  else return false;
  return true;
}

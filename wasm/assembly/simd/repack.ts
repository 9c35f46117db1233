/**
 * planes -> byte containers (SIMD twin of repack.ts repackToContainersScalar; same contract). One
 * 16-bit half of a plane word is broadcast to 16 byte lanes (low byte to lanes 0-7, high byte to
 * 8-15), tested against the per-lane bit masks, and the hits set bit s * c + j of each byte.
 */
const BYTE_OF_LANE: v128 = i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
const BIT_OF_LANE: v128 = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);

export function repackToContainers(planes: usize, p: i32, n: i32, k: i32, wd: i32, c: i32, vecsPerRow: i32,
  out: usize, scratch: usize): void {
  const slices = 8 / c;
  const halves = wd * 2;
  const planeStride = (<usize>n * <usize>wd) << 2;
  for (let row = 0; row < n; row++) {
    const rowPlanes = planes + ((<usize>row * <usize>wd) << 2);
    let dst = out + <usize>row * <usize>vecsPerRow * 16;
    for (let v = 0; v < vecsPerRow; v++) {
      let acc = i32x4.splat(0);
      for (let s = 0; s < slices; s++) {
        const h = v * slices + s;
        if (h >= halves) break;
        let src = rowPlanes + (<usize>h << 1);
        for (let j = 0; j < p; j++) {
          const bytes = i8x16.swizzle(v128.load16_splat(src), BYTE_OF_LANE);
          const hit = i8x16.eq(v128.and(bytes, BIT_OF_LANE), BIT_OF_LANE);
          const bit: i32 = 1 << (s * c + j);
          acc = v128.or(acc, v128.and(hit, i8x16.splat(<i8>bit)));
          src += planeStride;
        }
      }
      v128.store(dst, acc);
      dst += 16;
    }
  }
}

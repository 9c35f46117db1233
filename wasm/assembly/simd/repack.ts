/**
 * planes -> byte containers (SIMD twin of repack.ts repackToContainersScalar; same contract). One
 * 16-bit half of a plane word is broadcast to 16 byte lanes (low byte to lanes 0-7, high byte to
 * 8-15), tested against the per-lane bit masks, and the hits set bit s * c + j of each byte.
 */
const BYTE_OF_LANE: v128 = i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
const BIT_OF_LANE: v128 = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);

// @ts-ignore: decorator
@inline function sliceBits(acc: v128, src: usize, p: i32, planeStride: usize, firstBit: i32): v128 {
  let mask = i8x16.splat(<i8>firstBit); // bit s*c+j of each byte, doubled per plane
  for (let j = 0; j < p; j++) {
    const bytes = i8x16.swizzle(v128.load16_splat(src), BYTE_OF_LANE);
    const hit = i8x16.eq(v128.and(bytes, BIT_OF_LANE), BIT_OF_LANE);
    acc = v128.or(acc, v128.and(hit, mask));
    mask = i8x16.add(mask, mask);
    src += planeStride;
  }
  return acc;
}

/** One container width, a compile-time constant at each call, so the slice loop folds away. */
// @ts-ignore: decorator
@inline function repackC(c: i32, planes: usize, p: i32, n: i32, wd: i32, vecsPerRow: i32, out: usize): void {
  const slices = 8 / c;
  const halves = wd * 2;
  const planeStride = (<usize>n * <usize>wd) << 2;
  // Vectors whose slices all lie inside the row; the last one may run past wd (its rest is zero).
  const fullVecs = min(vecsPerRow, halves / slices);
  for (let row = 0; row < n; row++) {
    const rowPlanes = planes + ((<usize>row * <usize>wd) << 2);
    let dst = out + <usize>row * <usize>vecsPerRow * 16;
    let src = rowPlanes;
    for (let v = 0; v < fullVecs; v++) {
      let acc = i32x4.splat(0);
      for (let s = 0; s < slices; s++) acc = sliceBits(acc, src + (<usize>s << 1), p, planeStride, 1 << (s * c));
      v128.store(dst, acc);
      dst += 16;
      src += <usize>slices << 1;
    }
    for (let v = fullVecs; v < vecsPerRow; v++) {
      let acc = i32x4.splat(0);
      for (let s = 0; s < slices; s++) {
        if (v * slices + s >= halves) break;
        acc = sliceBits(acc, rowPlanes + (<usize>(v * slices + s) << 1), p, planeStride, 1 << (s * c));
      }
      v128.store(dst, acc);
      dst += 16;
    }
  }
}

export function repackToContainers(planes: usize, p: i32, n: i32, k: i32, wd: i32, c: i32, vecsPerRow: i32,
  out: usize, scratch: usize): void {
  if (c == 2) repackC(2, planes, p, n, wd, vecsPerRow, out);
  else if (c == 4) repackC(4, planes, p, n, wd, vecsPerRow, out);
  else repackC(8, planes, p, n, wd, vecsPerRow, out);
}

/**
 * planes -> 4-row tiles (SIMD twin of repack.ts repackToTiles; same contract): for each tile,
 * plane and 4 consecutive words, a 4x4 transpose of u32 (4 loads, 8 shuffles, 4 stores) instead of
 * 16 scalar moves. Rows past n read as zero; words past a multiple of 4 go one at a time.
 */
export function repackToTiles(planes: usize, p: i32, n: i32, wd: i32, tiles: usize): void {
  const nTiles = (n + 3) >> 2;
  const rowBytes = <usize>wd << 2;
  const tileWordStride = <usize>p << 4; // bytes between word w and w+1 of one tile
  const zero = i32x4.splat(0);
  for (let t = 0; t < nTiles; t++) {
    const tileBase = tiles + <usize>t * <usize>wd * tileWordStride;
    for (let j = 0; j < p; j++) {
      const plane = planes + <usize>(j * n) * rowBytes;
      const r0 = t * 4;
      const a0 = plane + <usize>r0 * rowBytes;
      const has1 = r0 + 1 < n, has2 = r0 + 2 < n, has3 = r0 + 3 < n;
      let w = 0;
      for (; w + 4 <= wd; w += 4) {
        const o = <usize>w << 2;
        const x0 = v128.load(a0 + o);
        const x1 = has1 ? v128.load(a0 + rowBytes + o) : zero;
        const x2 = has2 ? v128.load(a0 + 2 * rowBytes + o) : zero;
        const x3 = has3 ? v128.load(a0 + 3 * rowBytes + o) : zero;
        const lo01 = i32x4.shuffle(x0, x1, 0, 4, 1, 5); // r0w0 r1w0 r0w1 r1w1
        const hi01 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
        const lo23 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
        const hi23 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
        const dst = tileBase + <usize>w * tileWordStride + (<usize>j << 4);
        v128.store(dst, i64x2.shuffle(lo01, lo23, 0, 2));
        v128.store(dst + tileWordStride, i64x2.shuffle(lo01, lo23, 1, 3));
        v128.store(dst + 2 * tileWordStride, i64x2.shuffle(hi01, hi23, 0, 2));
        v128.store(dst + 3 * tileWordStride, i64x2.shuffle(hi01, hi23, 1, 3));
      }
      for (; w < wd; w++) {
        const o = <usize>w << 2;
        const dst = tileBase + <usize>w * tileWordStride + (<usize>j << 4);
        store<u32>(dst, load<u32>(a0 + o));
        store<u32>(dst, has1 ? load<u32>(a0 + rowBytes + o) : 0, 4);
        store<u32>(dst, has2 ? load<u32>(a0 + 2 * rowBytes + o) : 0, 8);
        store<u32>(dst, has3 ? load<u32>(a0 + 3 * rowBytes + o) : 0, 12);
      }
    }
  }
}

/**
 * planes -> byte containers (SIMD twin of repack.ts repackToContainersScalar; same contract).
 * Partial vectors at the end of a row: one 16-bit half of a plane word is broadcast to 16 byte lanes
 * (low byte to lanes 0-7, high byte to 8-15), tested against the per-lane bit masks, and the hits
 * set bit s * c + j of each byte. Full vectors: the transpose below.
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

/*
 * Full vectors: a 128-bit transpose. The p plane slices of one vector (c = 8: 16-bit halves, c = 4:
 * words, c = 2: 64-bit pairs; slot j = plane j, planes p..c-1 zero) are gathered into one v128, whose
 * bit index is then [element e (7 - log2 c bits) | plane j (log2 c bits)]. The container wants
 * [plane j | slice s = e >> 4 | byte b = e & 15]: one byte permutation (PI_C*) brings the plane and
 * slice bits to index bits 3..5, then three delta swaps exchange index bits 0-2 with 3-5 (checked
 * bit for bit against the scalar twin for every (p, c) by test/wasm). About 25 operations per 16
 * output bytes instead of ~8 per plane and 16 codes.
 */
const PI_C2: v128 = i8x16(0, 8, 2, 10, 4, 12, 6, 14, 1, 9, 3, 11, 5, 13, 7, 15);
const PI_C4: v128 = i8x16(0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15);
const PI_C8: v128 = i8x16(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
/** Positions whose index bit i is 1 and bit i + 3 is 0 (i = 0, 1, 2), in each 64-bit lane. */
const SWAP_M0: v128 = i64x2(0x00aa00aa00aa00aa, 0x00aa00aa00aa00aa);
const SWAP_M1: v128 = i64x2(0x0000cccc0000cccc, 0x0000cccc0000cccc);
const SWAP_M2: v128 = i64x2(0x00000000f0f0f0f0, 0x00000000f0f0f0f0);

/** Exchanges bit P and bit P - d wherever m has bit P - d set. */
// @ts-ignore: decorator
@inline function deltaSwap(x: v128, m: v128, d: i32): v128 {
  const t = v128.and(v128.xor(i64x2.shr_u(x, d), x), m);
  return v128.xor(x, v128.xor(t, i64x2.shl(t, d)));
}

/** Slots of the p planes of one vector (slot size 128 / c bits), zero above p. */
// @ts-ignore: decorator
@inline function gatherSlots(c: i32, src: usize, p: i32, planeStride: usize): v128 {
  let x = i32x4.splat(0);
  if (c == 2) {
    x = v128.load64_lane(src, x, 0);
    if (p > 1) x = v128.load64_lane(src + planeStride, x, 1);
  } else if (c == 4) {
    x = v128.load32_lane(src, x, 0);
    if (p > 1) x = v128.load32_lane(src + planeStride, x, 1);
    if (p > 2) x = v128.load32_lane(src + 2 * planeStride, x, 2);
    if (p > 3) x = v128.load32_lane(src + 3 * planeStride, x, 3);
  } else {
    x = v128.load16_lane(src, x, 0);
    if (p > 1) x = v128.load16_lane(src + planeStride, x, 1);
    if (p > 2) x = v128.load16_lane(src + 2 * planeStride, x, 2);
    if (p > 3) x = v128.load16_lane(src + 3 * planeStride, x, 3);
    if (p > 4) x = v128.load16_lane(src + 4 * planeStride, x, 4);
    if (p > 5) x = v128.load16_lane(src + 5 * planeStride, x, 5);
    if (p > 6) x = v128.load16_lane(src + 6 * planeStride, x, 6);
    if (p > 7) x = v128.load16_lane(src + 7 * planeStride, x, 7);
  }
  return x;
}

// @ts-ignore: decorator
@inline function transposeSlots(c: i32, x: v128): v128 {
  let y = i8x16.swizzle(x, c == 2 ? PI_C2 : c == 4 ? PI_C4 : PI_C8);
  y = deltaSwap(y, SWAP_M0, 7);
  y = deltaSwap(y, SWAP_M1, 14);
  return deltaSwap(y, SWAP_M2, 28);
}

/** One container width, a compile-time constant at each call, so the width tests fold away. */
// @ts-ignore: decorator
@inline function repackC(c: i32, planes: usize, p: i32, n: i32, wd: i32, vecsPerRow: i32, out: usize): void {
  const slices = 8 / c;
  const halves = wd * 2;
  const slotBytes = <usize>(16 / c);
  const planeStride = (<usize>n * <usize>wd) << 2;
  // Vectors whose slots all lie inside the row; the last one may run past wd (its rest is zero).
  const fullVecs = min(vecsPerRow, halves / slices);
  for (let row = 0; row < n; row++) {
    const rowPlanes = planes + ((<usize>row * <usize>wd) << 2);
    let dst = out + <usize>row * <usize>vecsPerRow * 16;
    let src = rowPlanes;
    for (let v = 0; v < fullVecs; v++) {
      v128.store(dst, transposeSlots(c, gatherSlots(c, src, p, planeStride)));
      dst += 16;
      src += slotBytes;
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

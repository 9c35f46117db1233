/**
 * Load-time repack of canonical bit planes into the plane-pair lookup layout (layout.ts section 5),
 * SIMD build; scalar twin: scalar/lutpairs.ts repackToLutPairs.
 */
import { LUT_PAIR_ROWS } from '../layout';

const PLANE_PAIR_BYTES: i32 = 16;
/** Byte offsets of the 16 source streams (row b >> 1, plane b & 1) from the pair's first row. */
const OFFS = memory.data(16 * 4, 16);

// @ts-ignore: decorator
@inline function lo8(a: v128, b: v128): v128 { return i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23); }
// @ts-ignore: decorator
@inline function hi8(a: v128, b: v128): v128 { return i8x16.shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31); }
// @ts-ignore: decorator
@inline function lo16(a: v128, b: v128): v128 { return i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
// @ts-ignore: decorator
@inline function hi16(a: v128, b: v128): v128 { return i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }
// @ts-ignore: decorator
@inline function lo32(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline function hi32(a: v128, b: v128): v128 { return i32x4.shuffle(a, b, 2, 6, 3, 7); }
// @ts-ignore: decorator
@inline function lo64(a: v128, b: v128): v128 { return i64x2.shuffle(a, b, 0, 2); }
// @ts-ignore: decorator
@inline function hi64(a: v128, b: v128): v128 { return i64x2.shuffle(a, b, 1, 3); }

/**
 * A 16 x 16 byte transpose: stream b (16 bytes at base + OFFS[b]) becomes byte lane b of the 16
 * output vectors, vector i holding byte i of every stream. Four rounds of interleaves at 8, 16,
 * 32 and 64 bits (one shuffle instruction each on x86: punpckl/h*), 64 in all for 256 bytes.
 */
// @ts-ignore: decorator
@inline function transpose16(base: usize, dst: usize): void {
  // Round 1, bytes of streams 2i, 2i+1 interleaved: b[2i] = their bytes 0..7, b[2i+1] = bytes 8..15.
  const a0 = v128.load(base + load<usize>(OFFS, 0)), a1 = v128.load(base + load<usize>(OFFS, 4)), a2 = v128.load(base + load<usize>(OFFS, 8)), a3 = v128.load(base + load<usize>(OFFS, 12));
  const a4 = v128.load(base + load<usize>(OFFS, 16)), a5 = v128.load(base + load<usize>(OFFS, 20)), a6 = v128.load(base + load<usize>(OFFS, 24)), a7 = v128.load(base + load<usize>(OFFS, 28));
  const a8 = v128.load(base + load<usize>(OFFS, 32)), a9 = v128.load(base + load<usize>(OFFS, 36)), a10 = v128.load(base + load<usize>(OFFS, 40)), a11 = v128.load(base + load<usize>(OFFS, 44));
  const a12 = v128.load(base + load<usize>(OFFS, 48)), a13 = v128.load(base + load<usize>(OFFS, 52)), a14 = v128.load(base + load<usize>(OFFS, 56)), a15 = v128.load(base + load<usize>(OFFS, 60));
  const b0 = lo8(a0, a1), b1 = hi8(a0, a1), b2 = lo8(a2, a3), b3 = hi8(a2, a3);
  const b4 = lo8(a4, a5), b5 = hi8(a4, a5), b6 = lo8(a6, a7), b7 = hi8(a6, a7);
  const b8 = lo8(a8, a9), b9 = hi8(a8, a9), b10 = lo8(a10, a11), b11 = hi8(a10, a11);
  const b12 = lo8(a12, a13), b13 = hi8(a12, a13), b14 = lo8(a14, a15), b15 = hi8(a14, a15);
  // Round 2, u16 pairs: c = one byte index of 4 streams per u32 lane (c0: streams 0-3, bytes 0..3).
  const c0 = lo16(b0, b2), c1 = hi16(b0, b2), c2 = lo16(b1, b3), c3 = hi16(b1, b3);
  const c4 = lo16(b4, b6), c5 = hi16(b4, b6), c6 = lo16(b5, b7), c7 = hi16(b5, b7);
  const c8 = lo16(b8, b10), c9 = hi16(b8, b10), c10 = lo16(b9, b11), c11 = hi16(b9, b11);
  const c12 = lo16(b12, b14), c13 = hi16(b12, b14), c14 = lo16(b13, b15), c15 = hi16(b13, b15);
  // Round 3, u32: d = one byte index of 8 streams per u64 lane (d0: streams 0-7, bytes 0 and 1).
  const d0 = lo32(c0, c4), d1 = hi32(c0, c4), d2 = lo32(c1, c5), d3 = hi32(c1, c5);
  const d4 = lo32(c2, c6), d5 = hi32(c2, c6), d6 = lo32(c3, c7), d7 = hi32(c3, c7);
  const d8 = lo32(c8, c12), d9 = hi32(c8, c12), d10 = lo32(c9, c13), d11 = hi32(c9, c13);
  const d12 = lo32(c10, c14), d13 = hi32(c10, c14), d14 = lo32(c11, c15), d15 = hi32(c11, c15);
  // Round 4, u64: streams 0-7 and 8-15 of one byte index = output vector i.
  v128.store(dst, lo64(d0, d8));
  v128.store(dst, hi64(d0, d8), 16);
  v128.store(dst, lo64(d1, d9), 32);
  v128.store(dst, hi64(d1, d9), 48);
  v128.store(dst, lo64(d2, d10), 64);
  v128.store(dst, hi64(d2, d10), 80);
  v128.store(dst, lo64(d3, d11), 96);
  v128.store(dst, hi64(d3, d11), 112);
  v128.store(dst, lo64(d4, d12), 128);
  v128.store(dst, hi64(d4, d12), 144);
  v128.store(dst, lo64(d5, d13), 160);
  v128.store(dst, hi64(d5, d13), 176);
  v128.store(dst, lo64(d6, d14), 192);
  v128.store(dst, hi64(d6, d14), 208);
  v128.store(dst, lo64(d7, d15), 224);
  v128.store(dst, hi64(d7, d15), 240);
}

/**
 * planes u32 [p][n][wd] -> wPairs u8 [ceil(n/8)][p/2][cpPad][16] (layout.ts section 5): for whole
 * 8-row blocks, 16 column pairs at a time by one 16 x 16 byte transpose of the 16 (row, plane)
 * streams; the rest (the last columns, a partial block) byte by byte. Rows past n and bytes past
 * the planes' rows are zero.
 */
export function repackToLutPairs(planes: usize, p: i32, n: i32, wd: i32, cpPad: i32, out: usize): void {
  const rowBytes = <usize>wd << 2;
  const planeStride = <usize>n * rowBytes;
  const nBlocks = (n + LUT_PAIR_ROWS - 1) / LUT_PAIR_ROWS;
  let dst = out;
  for (let t = 0; t < nBlocks; t++) {
    const r0 = t * LUT_PAIR_ROWS;
    for (let j = 0; j < p >> 1; j++) {
      const src = planes + <usize>(2 * j) * planeStride + <usize>r0 * rowBytes;
      let cp = 0;
      if (r0 + LUT_PAIR_ROWS <= n) {
        for (let b = 0; b < 16; b++) store<usize>(OFFS + (<usize>b << 2), <usize>(b & 1) * planeStride + <usize>(b >> 1) * rowBytes);
        for (; cp + 16 <= cpPad && <usize>(cp + 16) <= rowBytes; cp += 16) {
          transpose16(src + <usize>cp, dst);
          dst += 256;
        }
      }
      for (; cp < cpPad; cp++) {
        for (let b = 0; b < PLANE_PAIR_BYTES; b++) {
          const row = r0 + (b >> 1);
          store<u8>(dst + <usize>b, row < n && <usize>cp < rowBytes ? load<u8>(src + <usize>(b & 1) * planeStride + <usize>(b >> 1) * rowBytes + <usize>cp) : 0);
        }
        dst += PLANE_PAIR_BYTES;
      }
    }
  }
}

/**
 * Table-lookup GEMV over plane pairs ("lutpairs"; layout: ../layout.ts section 5), for even weight
 * bits. Same per-token nibble tables as the lut path (lutTables in lutgemm.ts); the weights differ:
 * one v128 holds 8 rows x the two planes of a pair (byte 2L = plane 2j, byte 2L + 1 = plane 2j + 1
 * of row L), so a lookup puts both planes of a row in one u16 lane and the plane weight (1, 2) is
 * applied by one pairwise widening add (i16x8.extadd_pairwise_i8x16_u) plus the odd byte again
 * (>> 8), instead of the lut path's even/odd split with Horner per plane and per nibble.
 *
 * Per step (2 column pairs = 16 columns x 8 rows x 2 planes = 32 weight bytes):
 *   4 index vectors (and, shr+and), 4 lookups in the low-nibble tables (+4 in the high-nibble
 *   tables when q > 4) summed in u8 lanes (<= 4 * 60 = 240), one widening per table kind into u16
 *   lanes (<= 3 * 240 = 720 per step), flushed into u32 every STEPS_PER_FLUSH steps.
 *   Pairs of higher planes (p = 4, 6, 8) run the same loop and add in u32 shifted by 2j.
 *
 * Instruction count (V8 in Node 20 on x86-64, read off `node --print-wasm-code`), per step with q > 4:
 *   2 weight loads + 8 table loads, 6 index ops, 8 swizzles x 3 (V8 lowers a non-constant
 *   i8x16.swizzle to a constant-pool address load, `vpaddusb` with the 0x70 mask from memory, and
 *   `vpshufb`), 6 u8 adds, 2 x 5 for the widening (psrlw, address load, vpmaddubsw, 2 paddw), about
 *   6 for the loop (V8's loop stack check included): ~60 instructions per 32 weight bytes,
 *   ~30 per 16 bytes, against ~37 for the lut kernel (which also spills two accumulators).
 *   At the ~4 instructions per cycle measured, that is ~7.5 cycles per 16 bytes: ~6 GB/s of
 *   weights at 2.9 GHz, ~50% of one thread's 12-13 GB/s. 70% (9 GB/s) needs <= ~5 cycles per
 *   16 bytes, ~20 instructions: reachable only with i8x16.relaxed_swizzle (a bare vpshufb, 8
 *   fewer instructions and 16 fewer loads per step), which Node 20 has only behind
 *   --experimental-wasm-relaxed-simd. ASC_FEATURE_RELAXED_SIMD selects it at compile time.
 */
import { LUT_PAIR_ROWS } from '../layout';

const U16_MAX: i32 = 65535;
/** Largest sum of four u8 lookups (four 60s: four 4-bit nibbles over 4 columns). */
const STEP_U8_MAX: i32 = 240;
/** Column pairs per step (four 4-column chunks). */
const STEP_CPS: i32 = 2;
/** Steps a u16 lane holds: each adds at most STEP_U8_MAX * (1 + 2) (even byte + 2 x odd byte). */
const STEPS_PER_FLUSH: i32 = U16_MAX / (STEP_U8_MAX * 3);
/** Table bytes per column pair: two chunks x (low, high) x 16. */
const CP_TABLE_BYTES: i32 = 64;
const PLANE_PAIR_BYTES: i32 = 16;

// @ts-ignore: decorator
@inline function look(table: v128, idx: v128): v128 {
  // Indices are < 16, so the relaxed form (a bare pshufb) gives the same bytes.
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, idx);
  return i8x16.swizzle(table, idx);
}

/** u8 lanes (even = plane 2j, odd = plane 2j+1 of one row) -> u16 lanes even + 2 * odd. */
// @ts-ignore: decorator
@inline function weighPair(v: v128): v128 {
  return i16x8.add(i16x8.extadd_pairwise_i8x16_u(v), i16x8.shr_u(v, 8));
}

/**
 * The 0x0f byte mask, read from memory rather than written as a constant: V8 rebuilds a constant
 * v128 at every use (3 instructions in the loop), but keeps a loaded value in a register.
 */
const NIBBLE_MASK = memory.data<u8>([15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15], 16);

/**
 * One token, one plane pair j, column pairs [cp, cp1) of one 8-row block: the u32 sums of its 8
 * rows, times 4^j, stored to dst (j = 0) or added to what is there (rows past rowsLeft untouched).
 */
// @ts-ignore: decorator
@inline function pairRange(hi: bool, tb0: usize, wp0: usize, cp: i32, cp1: i32, dst: usize, j: i32, rowsLeft: i32): void {
  const mF = v128.load(NIBBLE_MASK);
  let lo32 = i32x4.splat(0), hi32 = lo32;
  let tb = tb0, wp = wp0;
  while (cp < cp1) {
    const cpEnd = min(cp1, cp + STEPS_PER_FLUSH * STEP_CPS);
    let aL = i16x8.splat(0), aH = aL;
    for (; cp < cpEnd; cp += STEP_CPS) {
      const w0 = v128.load(wp), w1 = v128.load(wp, PLANE_PAIR_BYTES);
      const i0 = v128.and(w0, mF), i1 = v128.and(i16x8.shr_u(w0, 4), mF);
      const i2 = v128.and(w1, mF), i3 = v128.and(i16x8.shr_u(w1, 4), mF);
      const l = i8x16.add(i8x16.add(look(v128.load(tb), i0), look(v128.load(tb, 32), i1)),
        i8x16.add(look(v128.load(tb, 64), i2), look(v128.load(tb, 96), i3)));
      aL = i16x8.add(aL, weighPair(l));
      if (hi) {
        const h = i8x16.add(i8x16.add(look(v128.load(tb, 16), i0), look(v128.load(tb, 48), i1)),
          i8x16.add(look(v128.load(tb, 80), i2), look(v128.load(tb, 112), i3)));
        aH = i16x8.add(aH, weighPair(h));
      }
      wp += STEP_CPS * PLANE_PAIR_BYTES;
      tb += STEP_CPS * CP_TABLE_BYTES;
    }
    lo32 = i32x4.add(lo32, i32x4.extend_low_i16x8_u(aL));
    hi32 = i32x4.add(hi32, i32x4.extend_high_i16x8_u(aL));
    if (hi) {
      lo32 = i32x4.add(lo32, i32x4.shl(i32x4.extend_low_i16x8_u(aH), 4));
      hi32 = i32x4.add(hi32, i32x4.shl(i32x4.extend_high_i16x8_u(aH), 4));
    }
  }
  // Pair j carries planes 2j, 2j+1: weight 4^j, added onto the lower pairs' sums.
  lo32 = i32x4.shl(lo32, 2 * j);
  hi32 = i32x4.shl(hi32, 2 * j);
  if (j > 0) {
    lo32 = i32x4.add(lo32, v128.load(dst));
    if (rowsLeft > 4) hi32 = i32x4.add(hi32, v128.load(dst, 16));
  }
  v128.store(dst, lo32);
  if (rowsLeft > 4) v128.store(dst, hi32, 16);
}

// @ts-ignore: decorator
@inline function lutPairsGemmQ(hi: bool, p: i32, tables: usize, tableStride: i32, wPairs: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): void {
  const pairs = p >> 1;
  const pairBytes = <usize>cpPad * PLANE_PAIR_BYTES;
  for (let t = 0; t < nBlocks; t++) {
    const wBlock = wPairs + <usize>t * <usize>pairs * pairBytes;
    const rowsLeft = rows - t * LUT_PAIR_ROWS;
    for (let r = 0; r < m; r++) {
      const tr = tables + <usize>r * <usize>tableStride;
      for (let j = 0; j < pairs; j++) {
        const wPair = wBlock + <usize>j * pairBytes;
        for (let g = 0; g < groups; g++) {
          const cp0 = g * groupCps;
          const dst = acc + ((<usize>(r * groups + g) * <usize>nPad + <usize>(t * LUT_PAIR_ROWS)) << 2);
          pairRange(hi, tr + <usize>cp0 * CP_TABLE_BYTES, wPair + <usize>cp0 * PLANE_PAIR_BYTES, cp0,
            min(cpPad, cp0 + groupCps), dst, j, rowsLeft);
        }
      }
    }
  }
}

function lutPairsGemmLow(p: i32, tables: usize, tableStride: i32, wPairs: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): void {
  lutPairsGemmQ(false, p, tables, tableStride, wPairs, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
}

function lutPairsGemmHigh(p: i32, tables: usize, tableStride: i32, wPairs: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): void {
  lutPairsGemmQ(true, p, tables, tableStride, wPairs, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
}

/**
 * acc[r][g][row] for rows 0..rows-1 of this call (rows: nPad minus the call's first row, a multiple
 * of 4; the call's first row is a multiple of 8). Tables as lutTables writes them. q > 4 adds the
 * high-nibble lookups. Returns false for odd p or odd cpPad / groupCps (the host checks first).
 */
export function lutPairsGemm(p: i32, q: i32, tables: usize, tableStride: i32, wPairs: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): bool {
  if (p < 2 || p > 8 || (p & 1) != 0 || (cpPad & 1) != 0 || (groupCps & 1) != 0) return false;
  if (q <= 4) lutPairsGemmLow(p, tables, tableStride, wPairs, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
  else lutPairsGemmHigh(p, tables, tableStride, wPairs, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
  return true;
}

/**
 * planes u32 [p][n][wd] -> wPairs u8 [ceil(n/8)][p/2][cpPad][16]: byte cp of rows 8t..8t+7, planes
 * 2j and 2j+1, interleaved (16 byte-lane inserts per store). Rows past n and bytes past the planes'
 * rows (cp >= 4 * wd) are zero.
 */
export function repackToLutPairs(planes: usize, p: i32, n: i32, wd: i32, cpPad: i32, out: usize): void {
  const rowBytes = <usize>wd << 2;
  const planeStride = <usize>n * rowBytes;
  const nBlocks = (n + LUT_PAIR_ROWS - 1) / LUT_PAIR_ROWS;
  const cpData = min(cpPad, wd << 2);
  let dst = out;
  for (let t = 0; t < nBlocks; t++) {
    const r0 = t * LUT_PAIR_ROWS;
    for (let j = 0; j < p >> 1; j++) {
      const src = planes + <usize>(2 * j) * planeStride + <usize>r0 * rowBytes;
      if (r0 + LUT_PAIR_ROWS <= n) {
        for (let cp = 0; cp < cpData; cp++) {
          const s = src + <usize>cp;
          const o = s + planeStride;
          let v = v128.load8_splat(s);
          v = v128.load8_lane(o, v, 1);
          v = v128.load8_lane(s + rowBytes, v, 2);
          v = v128.load8_lane(o + rowBytes, v, 3);
          v = v128.load8_lane(s + 2 * rowBytes, v, 4);
          v = v128.load8_lane(o + 2 * rowBytes, v, 5);
          v = v128.load8_lane(s + 3 * rowBytes, v, 6);
          v = v128.load8_lane(o + 3 * rowBytes, v, 7);
          v = v128.load8_lane(s + 4 * rowBytes, v, 8);
          v = v128.load8_lane(o + 4 * rowBytes, v, 9);
          v = v128.load8_lane(s + 5 * rowBytes, v, 10);
          v = v128.load8_lane(o + 5 * rowBytes, v, 11);
          v = v128.load8_lane(s + 6 * rowBytes, v, 12);
          v = v128.load8_lane(o + 6 * rowBytes, v, 13);
          v = v128.load8_lane(s + 7 * rowBytes, v, 14);
          v = v128.load8_lane(o + 7 * rowBytes, v, 15);
          v128.store(dst, v);
          dst += PLANE_PAIR_BYTES;
        }
      } else {
        for (let cp = 0; cp < cpData; cp++) {
          for (let b = 0; b < PLANE_PAIR_BYTES; b++) {
            const row = r0 + (b >> 1);
            store<u8>(dst + <usize>b, row < n ? load<u8>(src + <usize>(b & 1) * planeStride + <usize>(b >> 1) * rowBytes + <usize>cp) : 0);
          }
          dst += PLANE_PAIR_BYTES;
        }
      }
      for (let cp = cpData; cp < cpPad; cp++) {
        v128.store(dst, i32x4.splat(0));
        dst += PLANE_PAIR_BYTES;
      }
    }
  }
}

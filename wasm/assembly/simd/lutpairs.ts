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
 * Instruction count per 16 bytes of W2A8 weights (4096x11008 layer's inner loops as V8 11.3 in
 * Node 20 compiles them for x86-64 AVX2, read off `node --print-wasm-code`: the marginal cost of one
 * more unrolled step of the hot loop; "mem" = memory operands, loads included):
 *
 *   path                           instr   SIMD ALU   mem    lookups
 *   codes (2-bit containers)        ~68       48       -        -      (8 vpmullw, widening)
 *   lut (16 rows x 1 plane)         ~34       20      ~16       4      (Horner in u16, 2 spills)
 *   lutpairs (this file)            ~31       18      ~15       4
 *   lutpairs, relaxed swizzle       ~23       14       ~7       4
 *
 * Where it goes (this file, per step = 32 bytes): 2 weight + 8 table loads, 6 index ops, 8 lookups x 3
 * (V8 lowers a non-constant i8x16.swizzle to a constant-pool address load, `vpaddusb` of the 0x70
 * mask from memory, and `vpshufb`, because it cannot prove the indices < 16), 6 u8 adds, 2 x 5 for
 * the widening (psrlw, address load, vpmaddubsw, 2 paddw), ~4 loop.
 * Bound: 70% of the 12-13 GB/s one thread reads is ~9 GB/s, i.e. 16 bytes per ~5.2 cycles at the
 * ~2.9 GHz measured. Zen 3 issues at most 6 macro-ops and 3 loads per cycle: 31 instructions and
 * 15 memory operands per 16 bytes need >= 5.2 and >= 5 cycles even at those peaks (the 4 lookups
 * alone are 12 instructions and 8 loads), and this mix runs at ~3-4 per cycle (7.5-10 cycles:
 * 4.4-6.3 GB/s measured, 33-40% of the single-thread read bandwidth of the same run). At that rate
 * 70% needs ~20 instructions per 16 bytes, out of reach with plain SIMD in V8.
 * The relaxed form (a bare vpshufb; Node 20 only behind --experimental-wasm-relaxed-simd, default
 * in Node 22+ and Chromium) removes 8 instructions and 8 loads per 16 bytes;
 * ASC_FEATURE_RELAXED_SIMD selects it at build time (wasm/build/kernels-simd-relaxed.wasm).
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

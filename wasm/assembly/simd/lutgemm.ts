/**
 * Table-lookup integer path ("lut", T-MAC style; layouts: ../layout.ts section 4), meant for GEMV
 * (M = 1..4) with low-bit weights, where the popcount and u8-code paths are instruction-bound.
 *
 * Per token, each 4-column chunk gets two 16-entry byte tables (partial sums of the low and the high
 * nibbles of its 4 activation codes over every subset of the 4 columns). The weights are bit planes
 * cut into 4-bit indices, 16 rows per v128, so one i8x16.swizzle (pshufb) looks up 16 rows x 4
 * columns of one plane. Per step (16 columns): four lookups add in u8 lanes (<= 4 * 60), planes
 * combine by Horner in u16 lanes split even/odd rows (<= 240 * (2^p - 1) <= 61200), the u16 lanes are
 * widened into u32 before they can overflow, and the high-nibble sums enter as << 4 in u32.
 * Activations of q <= 4 bits have no high nibble: those lookups are skipped (their tables are zero).
 * Instruction counts per weight byte, next to the plane-pair variant and the other paths: lutpairs.ts.
 */
import { LUT_ROWS, LUT_STEP_CPS } from '../layout';

const U16_MAX: i32 = 65535;
/** Largest sum of four u8 lookups (four 60s). */
const STEP_U8_MAX: i32 = 240;
const CHUNK_TABLE_BYTES: i32 = 32;

/** One table lookup; indices are < 16, so the relaxed form (a bare pshufb) gives the same bytes. */
// @ts-ignore: decorator
@inline function look(table: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, idx);
  return i8x16.swizzle(table, idx);
}

/** Lane i is all ones where bit t of i is set (t = 0..3): selects x_t into the table entries. */
const SEL0: v128 = i8x16(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1);
const SEL1: v128 = i8x16(0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1, 0, 0, -1, -1);
const SEL2: v128 = i8x16(0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0, -1, -1, -1, -1);
const SEL3: v128 = i8x16(0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1);

// @ts-ignore: decorator
@inline function subsetSums(x: v128, t0: i8): v128 {
  // x: the 4 nibbles in lanes t0..t0+3; entry i = sum of the lanes whose bit is set in i.
  let s = v128.and(i8x16.swizzle(x, i8x16.splat(t0)), SEL0);
  s = i8x16.add(s, v128.and(i8x16.swizzle(x, i8x16.splat(t0 + 1)), SEL1));
  s = i8x16.add(s, v128.and(i8x16.swizzle(x, i8x16.splat(t0 + 2)), SEL2));
  return i8x16.add(s, v128.and(i8x16.swizzle(x, i8x16.splat(t0 + 3)), SEL3));
}

/** Tables of m tokens: xCodes u8 [m][codeStride] -> tables u8 [m][chunks][2][16] (stride tableStride). */
export function lutTables(xCodes: usize, codeStride: i32, m: i32, chunks: i32, tables: usize, tableStride: i32): void {
  const m0F = i8x16.splat(0x0f);
  for (let r = 0; r < m; r++) {
    const xr = xCodes + <usize>r * <usize>codeStride;
    let dst = tables + <usize>r * <usize>tableStride;
    for (let c = 0; c < chunks; c++) {
      const v = v128.load32_zero(xr + (<usize>c << 2));
      // lanes 0-3: low nibbles, lanes 4-7: high nibbles
      const x = i8x16.shuffle(v128.and(v, m0F), v128.and(i16x8.shr_u(v, 4), m0F),
        0, 1, 2, 3, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0);
      v128.store(dst, subsetSums(x, 0));
      v128.store(dst, subsetSums(x, 4), 16);
      dst += CHUNK_TABLE_BYTES;
    }
  }
}

// @ts-ignore: decorator
@inline function look4(t0: v128, t1: v128, t2: v128, t3: v128, i0: v128, i1: v128, i2: v128, i3: v128): v128 {
  return i8x16.add(i8x16.add(look(t0, i0), look(t1, i1)), i8x16.add(look(t2, i2), look(t3, i3)));
}

// @ts-ignore: decorator
@inline function storeQuads(dst: usize, rowsLeft: i32, even: v128, odd: v128, evenHi: v128, oddHi: v128): void {
  // even = rows 0,2,4,6; odd = rows 1,3,5,7; *Hi the same for rows 8..15. Rows past rowsLeft are not stored.
  if (rowsLeft >= 16) {
    v128.store(dst, i32x4.shuffle(even, odd, 0, 4, 1, 5));
    v128.store(dst, i32x4.shuffle(even, odd, 2, 6, 3, 7), 16);
    v128.store(dst, i32x4.shuffle(evenHi, oddHi, 0, 4, 1, 5), 32);
    v128.store(dst, i32x4.shuffle(evenHi, oddHi, 2, 6, 3, 7), 48);
    return;
  }
  if (rowsLeft > 0) v128.store(dst, i32x4.shuffle(even, odd, 0, 4, 1, 5));
  if (rowsLeft > 4) v128.store(dst, i32x4.shuffle(even, odd, 2, 6, 3, 7), 16);
  if (rowsLeft > 8) v128.store(dst, i32x4.shuffle(evenHi, oddHi, 0, 4, 1, 5), 32);
}

/**
 * Low nibbles only, or both kept apart (wide: p > 4 with q > 4). u16 lanes per step hold at most
 * 240 * (2^p - 1) <= 61200.
 */
// @ts-ignore: decorator
@inline function lutGemmSplit(hi: bool, p: i32, tables: usize, tableStride: i32, wLut: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): void {
  const m0F = i8x16.splat(0x0f);
  const m00FF = i16x8.splat(0xff);
  const planeBytes = <usize>p << 4;
  const blockBytes = <usize>cpPad * planeBytes;
  const cpsPerFlush = (U16_MAX / (STEP_U8_MAX * ((1 << p) - 1))) * LUT_STEP_CPS;
  for (let t = 0; t < nBlocks; t++) {
    const wBlock = wLut + <usize>t * blockBytes;
    for (let r = 0; r < m; r++) {
      const tr = tables + <usize>r * <usize>tableStride;
      for (let g = 0; g < groups; g++) {
        let cp = g * groupCps;
        const cp1 = min(cpPad, cp + groupCps);
        let aE = i32x4.splat(0), aO = aE, aEh = aE, aOh = aE; // u32: rows 0,2,4,6 / 1,3,5,7 / 8.. / 9..
        while (cp < cp1) {
          const cpEnd = min(cp1, cp + cpsPerFlush);
          let eL = i16x8.splat(0), oL = eL, eH = eL, oH = eL; // u16: even / odd rows, low / high nibbles
          for (; cp < cpEnd; cp += LUT_STEP_CPS) {
            const tb = tr + <usize>cp * <usize>(2 * CHUNK_TABLE_BYTES);
            const l0 = v128.load(tb), l1 = v128.load(tb, 32), l2 = v128.load(tb, 64), l3 = v128.load(tb, 96);
            let sEL = i16x8.splat(0), sOL = sEL, sEH = sEL, sOH = sEL;
            // Planes from the highest: s = 2 s + a_j (Horner), so no variable shifts.
            let wp = wBlock + <usize>cp * planeBytes + planeBytes - 16;
            for (let j = p - 1; j >= 0; j--) {
              const w0 = v128.load(wp), w1 = v128.load(wp + planeBytes);
              const i0 = v128.and(w0, m0F), i1 = v128.and(i16x8.shr_u(w0, 4), m0F);
              const i2 = v128.and(w1, m0F), i3 = v128.and(i16x8.shr_u(w1, 4), m0F);
              const aL = look4(l0, l1, l2, l3, i0, i1, i2, i3);
              sEL = i16x8.add(i16x8.add(sEL, sEL), v128.and(aL, m00FF));
              sOL = i16x8.add(i16x8.add(sOL, sOL), i16x8.shr_u(aL, 8));
              if (hi) {
                const aH = look4(v128.load(tb, 16), v128.load(tb, 48), v128.load(tb, 80), v128.load(tb, 112), i0, i1, i2, i3);
                sEH = i16x8.add(i16x8.add(sEH, sEH), v128.and(aH, m00FF));
                sOH = i16x8.add(i16x8.add(sOH, sOH), i16x8.shr_u(aH, 8));
              }
              wp -= 16;
            }
            eL = i16x8.add(eL, sEL);
            oL = i16x8.add(oL, sOL);
            if (hi) {
              eH = i16x8.add(eH, sEH);
              oH = i16x8.add(oH, sOH);
            }
          }
          aE = i32x4.add(aE, i32x4.extend_low_i16x8_u(eL));
          aEh = i32x4.add(aEh, i32x4.extend_high_i16x8_u(eL));
          aO = i32x4.add(aO, i32x4.extend_low_i16x8_u(oL));
          aOh = i32x4.add(aOh, i32x4.extend_high_i16x8_u(oL));
          if (hi) {
            aE = i32x4.add(aE, i32x4.shl(i32x4.extend_low_i16x8_u(eH), 4));
            aEh = i32x4.add(aEh, i32x4.shl(i32x4.extend_high_i16x8_u(eH), 4));
            aO = i32x4.add(aO, i32x4.shl(i32x4.extend_low_i16x8_u(oH), 4));
            aOh = i32x4.add(aOh, i32x4.shl(i32x4.extend_high_i16x8_u(oH), 4));
          }
        }
        const dst = acc + ((<usize>(r * groups + g) * <usize>nPad + <usize>(t * LUT_ROWS)) << 2);
        storeQuads(dst, rows - t * LUT_ROWS, aE, aO, aEh, aOh);
      }
    }
  }
}

function lutGemmLow(p: i32, tables: usize, tableStride: i32, wLut: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): void {
  lutGemmSplit(false, p, tables, tableStride, wLut, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
}

function lutGemmWide(p: i32, tables: usize, tableStride: i32, wLut: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): void {
  lutGemmSplit(true, p, tables, tableStride, wLut, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
}

/** Largest weight bits for which lo + 16 * hi of a step, times 2^p - 1, fits a u16 lane. */
const NARROW_MAX_P: i32 = 4;
/** Largest lo + 16 * hi of four lookups: 240 + 16 * 240. */
const STEP_BOTH_MAX: i32 = 4080;

/**
 * p <= 4 with q > 4: both nibbles in one u16 accumulator per row parity (lo + 16 * hi per plane,
 * <= 4080 * (2^p - 1) <= 61200 per step), widened to u32 every few steps. Fewer live vectors than
 * the split form, so V8 keeps them in registers.
 */
function lutGemmNarrow(p: i32, tables: usize, tableStride: i32, wLut: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): void {
  const m0F = i8x16.splat(0x0f);
  const m00FF = i16x8.splat(0xff);
  const m0FF0 = i16x8.splat(0xff0);
  const planeBytes = <usize>p << 4;
  const blockBytes = <usize>cpPad * planeBytes;
  const cpsPerFlush = (U16_MAX / (STEP_BOTH_MAX * ((1 << p) - 1))) * LUT_STEP_CPS;
  for (let t = 0; t < nBlocks; t++) {
    const wBlock = wLut + <usize>t * blockBytes;
    for (let r = 0; r < m; r++) {
      const tr = tables + <usize>r * <usize>tableStride;
      for (let g = 0; g < groups; g++) {
        let cp = g * groupCps;
        const cp1 = min(cpPad, cp + groupCps);
        let aE = i32x4.splat(0), aO = aE, aEh = aE, aOh = aE;
        while (cp < cp1) {
          const cpEnd = min(cp1, cp + cpsPerFlush);
          let e = i16x8.splat(0), o = e;
          for (; cp < cpEnd; cp += LUT_STEP_CPS) {
            const tb = tr + <usize>cp * <usize>(2 * CHUNK_TABLE_BYTES);
            let sE = i16x8.splat(0), sO = sE;
            let wp = wBlock + <usize>cp * planeBytes + planeBytes - 16;
            for (let j = p - 1; j >= 0; j--) {
              const w0 = v128.load(wp), w1 = v128.load(wp + planeBytes);
              const i0 = v128.and(w0, m0F), i1 = v128.and(i16x8.shr_u(w0, 4), m0F);
              const i2 = v128.and(w1, m0F), i3 = v128.and(i16x8.shr_u(w1, 4), m0F);
              const aL = look4(v128.load(tb), v128.load(tb, 32), v128.load(tb, 64), v128.load(tb, 96), i0, i1, i2, i3);
              const aH = look4(v128.load(tb, 16), v128.load(tb, 48), v128.load(tb, 80), v128.load(tb, 112), i0, i1, i2, i3);
              sE = i16x8.add(i16x8.add(sE, sE), i16x8.add(v128.and(aL, m00FF), v128.and(i16x8.shl(aH, 4), m0FF0)));
              sO = i16x8.add(i16x8.add(sO, sO), i16x8.add(i16x8.shr_u(aL, 8), v128.and(i16x8.shr_u(aH, 4), m0FF0)));
              wp -= 16;
            }
            e = i16x8.add(e, sE);
            o = i16x8.add(o, sO);
          }
          aE = i32x4.add(aE, i32x4.extend_low_i16x8_u(e));
          aEh = i32x4.add(aEh, i32x4.extend_high_i16x8_u(e));
          aO = i32x4.add(aO, i32x4.extend_low_i16x8_u(o));
          aOh = i32x4.add(aOh, i32x4.extend_high_i16x8_u(o));
        }
        const dst = acc + ((<usize>(r * groups + g) * <usize>nPad + <usize>(t * LUT_ROWS)) << 2);
        storeQuads(dst, rows - t * LUT_ROWS, aE, aO, aEh, aOh);
      }
    }
  }
}

/**
 * acc[r][g][row] for rows 0..rows-1 of this call (rows: nPad minus the call's first row; a multiple
 * of 4). q only selects whether high-nibble tables are used (q > 4).
 */
export function lutGemm(p: i32, q: i32, tables: usize, tableStride: i32, wLut: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): bool {
  if (p < 1 || p > 8 || (cpPad & 1) != 0 || (groupCps & 1) != 0) return false;
  if (q <= 4) lutGemmLow(p, tables, tableStride, wLut, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
  else if (p <= NARROW_MAX_P) lutGemmNarrow(p, tables, tableStride, wLut, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
  else lutGemmWide(p, tables, tableStride, wLut, acc, m, nBlocks, cpPad, groupCps, groups, nPad, rows);
  return true;
}

/**
 * planes u32 [p][n][wd] -> wLut u8 [ceil(n/16)][cpPad][p][16]: byte cp of 16 rows' plane j gathered
 * into one v128 (16 byte-lane inserts per store). Rows past n are zero.
 */
export function repackToLut(planes: usize, p: i32, n: i32, wd: i32, cpPad: i32, out: usize): void {
  const rowBytes = <usize>wd << 2;
  const nBlocks = (n + LUT_ROWS - 1) / LUT_ROWS;
  const planeBytes = <usize>p << 4;
  for (let t = 0; t < nBlocks; t++) {
    const r0 = t * LUT_ROWS;
    const blockOut = out + <usize>t * <usize>cpPad * planeBytes;
    for (let j = 0; j < p; j++) {
      const src = planes + (<usize>(j * n + r0)) * rowBytes;
      let dst = blockOut + (<usize>j << 4);
      if (r0 + LUT_ROWS <= n) {
        for (let cp = 0; cp < cpPad; cp++) {
          const s = src + <usize>cp;
          let v = v128.load8_splat(s);
          v = v128.load8_lane(s + rowBytes, v, 1);
          v = v128.load8_lane(s + 2 * rowBytes, v, 2);
          v = v128.load8_lane(s + 3 * rowBytes, v, 3);
          v = v128.load8_lane(s + 4 * rowBytes, v, 4);
          v = v128.load8_lane(s + 5 * rowBytes, v, 5);
          v = v128.load8_lane(s + 6 * rowBytes, v, 6);
          v = v128.load8_lane(s + 7 * rowBytes, v, 7);
          v = v128.load8_lane(s + 8 * rowBytes, v, 8);
          v = v128.load8_lane(s + 9 * rowBytes, v, 9);
          v = v128.load8_lane(s + 10 * rowBytes, v, 10);
          v = v128.load8_lane(s + 11 * rowBytes, v, 11);
          v = v128.load8_lane(s + 12 * rowBytes, v, 12);
          v = v128.load8_lane(s + 13 * rowBytes, v, 13);
          v = v128.load8_lane(s + 14 * rowBytes, v, 14);
          v = v128.load8_lane(s + 15 * rowBytes, v, 15);
          v128.store(dst, v);
          dst += planeBytes;
        }
      } else {
        for (let cp = 0; cp < cpPad; cp++) {
          for (let l = 0; l < LUT_ROWS; l++) {
            store<u8>(dst + <usize>l, r0 + l < n ? load<u8>(src + <usize>l * rowBytes + <usize>cp) : 0);
          }
          dst += planeBytes;
        }
      }
    }
  }
}

/**
 * Table-lookup path, scalar twins of simd/lutgemm.ts (same signatures and layouts: ../layout.ts
 * section 4): plain loops over the same tables and 4-bit weight indices, one row at a time.
 */
import { LUT_ROWS } from '../layout';

const CHUNK_TABLE_BYTES: i32 = 32;

/** Tables of m tokens: xCodes u8 [m][codeStride] -> tables u8 [m][chunks][2][16] (stride tableStride). */
export function lutTables(xCodes: usize, codeStride: i32, m: i32, chunks: i32, tables: usize, tableStride: i32): void {
  for (let r = 0; r < m; r++) {
    const xr = xCodes + <usize>r * <usize>codeStride;
    let dst = tables + <usize>r * <usize>tableStride;
    for (let c = 0; c < chunks; c++) {
      for (let i = 0; i < 16; i++) {
        let lo: u32 = 0, hi: u32 = 0;
        for (let t = 0; t < 4; t++) {
          if ((i >> t) & 1) {
            const x = <u32>load<u8>(xr + <usize>(4 * c + t));
            lo += x & 15;
            hi += x >> 4;
          }
        }
        store<u8>(dst + <usize>i, <u8>lo);
        store<u8>(dst + <usize>(16 + i), <u8>hi);
      }
      dst += CHUNK_TABLE_BYTES;
    }
  }
}

/** acc[r][g][row] for rows 0..rows-1 of this call (see simd/lutgemm.ts). */
export function lutGemm(p: i32, q: i32, tables: usize, tableStride: i32, wLut: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): bool {
  if (p < 1 || p > 8 || (cpPad & 1) != 0 || (groupCps & 1) != 0) return false;
  const planeBytes = <usize>p << 4;
  for (let t = 0; t < nBlocks; t++) {
    const wBlock = wLut + <usize>t * <usize>cpPad * planeBytes;
    for (let l = 0; l < LUT_ROWS; l++) {
      const row = t * LUT_ROWS + l;
      if (row >= rows) break;
      for (let r = 0; r < m; r++) {
        const tr = tables + <usize>r * <usize>tableStride;
        for (let g = 0; g < groups; g++) {
          const cp1 = min(cpPad, (g + 1) * groupCps);
          let total: u32 = 0;
          for (let cp = g * groupCps; cp < cp1; cp++) {
            const tLo = tr + <usize>(2 * cp) * CHUNK_TABLE_BYTES; // chunk 2cp; chunk 2cp+1 follows
            for (let j = 0; j < p; j++) {
              const b = <u32>load<u8>(wBlock + <usize>(cp * p + j) * 16 + <usize>l);
              const i0 = <usize>(b & 15), i1 = <usize>(b >> 4);
              const v = <u32>load<u8>(tLo + i0) + (<u32>load<u8>(tLo + 16 + i0) << 4)
                + <u32>load<u8>(tLo + 32 + i1) + (<u32>load<u8>(tLo + 48 + i1) << 4);
              total += v << <u32>j;
            }
          }
          store<u32>(acc + ((<usize>(r * groups + g) * <usize>nPad + <usize>row) << 2), total);
        }
      }
    }
  }
  return true;
}

/** planes u32 [p][n][wd] -> wLut u8 [ceil(n/16)][cpPad][p][16] (byte cp of each row's plane j). */
export function repackToLut(planes: usize, p: i32, n: i32, wd: i32, cpPad: i32, out: usize): void {
  const rowBytes = <usize>wd << 2;
  const nBlocks = (n + LUT_ROWS - 1) / LUT_ROWS;
  let dst = out;
  for (let t = 0; t < nBlocks; t++) {
    for (let cp = 0; cp < cpPad; cp++) {
      for (let j = 0; j < p; j++) {
        for (let l = 0; l < LUT_ROWS; l++) {
          const row = t * LUT_ROWS + l;
          store<u8>(dst, row < n ? load<u8>(planes + (<usize>(j * n + row)) * rowBytes + <usize>cp) : 0);
          dst++;
        }
      }
    }
  }
}

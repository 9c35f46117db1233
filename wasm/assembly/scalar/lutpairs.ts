/**
 * Table-lookup path over plane pairs, scalar twins of simd/lutpairs.ts (same signatures and layouts:
 * ../layout.ts section 5): plain loops over the same tables and 4-bit indices, one row at a time.
 */
import { LUT_PAIR_ROWS } from '../layout';

const CHUNK_TABLE_BYTES: i32 = 32;
const PLANE_PAIR_BYTES: i32 = 16;

/** acc[r][g][row] for rows 0..rows-1 of this call (see simd/lutpairs.ts). */
export function lutPairsGemm(p: i32, q: i32, tables: usize, tableStride: i32, wPairs: usize, acc: usize, m: i32,
  nBlocks: i32, cpPad: i32, groupCps: i32, groups: i32, nPad: i32, rows: i32): bool {
  if (p < 2 || p > 8 || (p & 1) != 0 || (cpPad & 1) != 0 || (groupCps & 1) != 0) return false;
  const pairs = p >> 1;
  const pairBytes = <usize>cpPad * PLANE_PAIR_BYTES;
  for (let t = 0; t < nBlocks; t++) {
    const wBlock = wPairs + <usize>t * <usize>pairs * pairBytes;
    for (let l = 0; l < LUT_PAIR_ROWS; l++) {
      const row = t * LUT_PAIR_ROWS + l;
      if (row >= rows) break;
      for (let r = 0; r < m; r++) {
        const tr = tables + <usize>r * <usize>tableStride;
        for (let g = 0; g < groups; g++) {
          const cp1 = min(cpPad, (g + 1) * groupCps);
          let total: u32 = 0;
          for (let j = 0; j < pairs; j++) {
            for (let s = 0; s < 2; s++) {
              const lane = wBlock + <usize>j * pairBytes + <usize>(2 * l + s);
              let planeSum: u32 = 0;
              for (let cp = g * groupCps; cp < cp1; cp++) {
                const tLo = tr + <usize>(2 * cp) * CHUNK_TABLE_BYTES; // chunk 2cp; chunk 2cp+1 follows
                const b = <u32>load<u8>(lane + <usize>cp * PLANE_PAIR_BYTES);
                const i0 = <usize>(b & 15), i1 = <usize>(b >> 4);
                planeSum += <u32>load<u8>(tLo + i0) + (<u32>load<u8>(tLo + 16 + i0) << 4)
                  + <u32>load<u8>(tLo + 32 + i1) + (<u32>load<u8>(tLo + 48 + i1) << 4);
              }
              total += planeSum << <u32>(2 * j + s);
            }
          }
          store<u32>(acc + ((<usize>(r * groups + g) * <usize>nPad + <usize>row) << 2), total);
        }
      }
    }
  }
  return true;
}

/** planes u32 [p][n][wd] -> wPairs u8 [ceil(n/8)][p/2][cpPad][16] (byte cp of each row's planes 2j, 2j+1). */
export function repackToLutPairs(planes: usize, p: i32, n: i32, wd: i32, cpPad: i32, out: usize): void {
  const rowBytes = <usize>wd << 2;
  const nBlocks = (n + LUT_PAIR_ROWS - 1) / LUT_PAIR_ROWS;
  let dst = out;
  for (let t = 0; t < nBlocks; t++) {
    for (let j = 0; j < p >> 1; j++) {
      for (let cp = 0; cp < cpPad; cp++) {
        for (let b = 0; b < PLANE_PAIR_BYTES; b++) {
          const row = t * LUT_PAIR_ROWS + (b >> 1);
          const plane = 2 * j + (b & 1);
          const inRow = row < n && <usize>cp < rowBytes;
          store<u8>(dst, inRow ? load<u8>(planes + (<usize>(plane * n + row)) * rowBytes + <usize>cp) : 0);
          dst++;
        }
      }
    }
  }
}

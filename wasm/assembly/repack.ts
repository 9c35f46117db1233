/**
 * Load-time repacking of the file's canonical bit planes (u32 [p][N][wd], LSB-first; see
 * shared/format/bitplanes.ts) into the kernels' layouts (layout.ts). Plain scalar code shared by
 * both builds: it runs once per model, and each step is a table lookup or a word move, so it
 * reaches GB/s without SIMD.
 */
import { elemsPerVec } from './layout';

/** SPREAD[byte]: the 8 bits of `byte` moved to bit 0 of 8 consecutive bytes (little-endian u64). */
const SPREAD = memory.data(256 * 8);
let spreadReady = false;

function initSpread(): void {
  for (let v = 0; v < 256; v++) {
    let s: u64 = 0;
    for (let b = 0; b < 8; b++) s |= (<u64>((v >> b) & 1)) << (<u64>(b * 8));
    store<u64>(SPREAD + (<usize>v << 3), s);
  }
  spreadReady = true;
}

/**
 * planes u32 [p][n][wd] -> tiles u32 [ceil(n/4)][wd][p][4] (rows past n zero); scalar twin of
 * simd/repack.ts repackToTiles. Writes the tiles in
 * order (sequential stores), reading 4 rows x p planes as parallel sequential streams.
 */
export function repackToTiles(planes: usize, p: i32, n: i32, wd: i32, tiles: usize): void {
  const nTiles = (n + 3) >> 2;
  const rowBytes = <usize>wd << 2;
  // Every word of the output is written below (rows past n as zero), so no fill first.
  let dst = tiles;
  for (let t = 0; t < nTiles; t++) {
    for (let w = 0; w < wd; w++) {
      const col = <usize>w << 2;
      for (let j = 0; j < p; j++) {
        const base = planes + <usize>(j * n) * rowBytes + col;
        for (let lane = 0; lane < 4; lane++) {
          const row = t * 4 + lane;
          store<u32>(dst, row < n ? load<u32>(base + <usize>row * rowBytes) : 0);
          dst += 4;
        }
      }
    }
  }
}

/**
 * planes u32 [p][n][wd] -> byte containers u8 [n][vecsPerRow][16] of c-bit codes (c = 2, 4 or 8;
 * element order in layout.ts). Works on 16-element slices: slice s of vector v holds elements
 * 16h..16h+15 with h = v * (8 / c) + s, which are the low or high 16 bits of plane word h / 2; each
 * of their two bytes is spread to 8 bytes by SPREAD and shifted to bit s * c + j of its byte.
 * Codes past K are zero (the format guarantees zero padding bits; slices past wd read as zero).
 * Scalar twin of simd/repack.ts repackToContainers.
 */
export function repackToContainersScalar(planes: usize, p: i32, n: i32, k: i32, wd: i32, c: i32, vecsPerRow: i32,
  out: usize, scratch: usize): void {
  if (!spreadReady) initSpread();
  const slices = 8 / c;
  const halves = wd * 2;
  for (let row = 0; row < n; row++) {
    let dst = out + <usize>row * <usize>vecsPerRow * 16;
    for (let v = 0; v < vecsPerRow; v++) {
      let lo: u64 = 0, hi: u64 = 0;
      for (let s = 0; s < slices; s++) {
        const h = v * slices + s;
        if (h >= halves) break;
        for (let j = 0; j < p; j++) {
          const half = <u32>load<u16>(planes + ((<usize>(j * n + row) * <usize>wd) << 2) + (<usize>h << 1));
          const shift = <u64>(s * c + j);
          lo |= load<u64>(SPREAD + (<usize>(half & 0xff) << 3)) << shift;
          hi |= load<u64>(SPREAD + (<usize>(half >> 8) << 3)) << shift;
        }
      }
      store<u64>(dst, lo);
      store<u64>(dst, hi, 8);
      dst += 16;
    }
  }
}

/** Weight code sums i32 [groups][nPad] from planes (popcount per plane, times 2^j). */
export function weightSums(planes: usize, p: i32, n: i32, wd: i32, groupWords: i32, groups: i32, nPad: i32, out: usize): void {
  memory.fill(out, 0, (<usize>groups * <usize>nPad) << 2);
  for (let j = 0; j < p; j++) {
    for (let row = 0; row < n; row++) {
      const src = planes + ((<usize>(j * n + row) * <usize>wd) << 2);
      for (let g = 0; g < groups; g++) {
        const w1 = min(wd, (g + 1) * groupWords);
        let sum = 0;
        let w = g * groupWords;
        // Two words per 64-bit popcount (native on x86-64 and arm64), then the odd one.
        for (; w + 2 <= w1; w += 2) sum += <i32>popcnt<i64>(load<i64>(src + (<usize>w << 2)));
        if (w < w1) sum += popcnt<i32>(load<i32>(src + (<usize>w << 2)));
        const d = out + ((<usize>(g * nPad + row)) << 2);
        store<i32>(d, load<i32>(d) + (sum << j));
      }
    }
  }
}

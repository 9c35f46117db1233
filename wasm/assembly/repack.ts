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

/** planes u32 [p][n][wd] -> tiles u32 [ceil(n/4)][wd][p][4] (rows past n zero). */
export function repackToTiles(planes: usize, p: i32, n: i32, wd: i32, tiles: usize): void {
  const nTiles = (n + 3) >> 2;
  memory.fill(tiles, 0, (<usize>nTiles * <usize>wd * <usize>p) << 4);
  for (let j = 0; j < p; j++) {
    for (let row = 0; row < n; row++) {
      let src = planes + ((<usize>(j * n + row) * <usize>wd) << 2);
      let dst = tiles + ((<usize>((row >> 2) * wd) * <usize>p + <usize>j) << 4) + (<usize>(row & 3) << 2);
      const step = <usize>p << 4;
      for (let w = 0; w < wd; w++) {
        store<u32>(dst, load<u32>(src));
        src += 4;
        dst += step;
      }
    }
  }
}

/** Unpacks one row of planes into u8 codes (scratch, length wd * 32). */
function unpackRow(planes: usize, p: i32, n: i32, wd: i32, row: i32, codes: usize): void {
  memory.fill(codes, 0, <usize>wd << 5);
  for (let j = 0; j < p; j++) {
    const src = planes + ((<usize>(j * n + row) * <usize>wd) << 2);
    const bytes = wd << 2;
    for (let i = 0; i < bytes; i++) {
      const d = codes + (<usize>i << 3);
      store<u64>(d, load<u64>(d) | (load<u64>(SPREAD + (<usize>load<u8>(src + <usize>i) << 3)) << <u64>j));
    }
  }
}

/**
 * planes u32 [p][n][wd] -> byte containers u8 [n][vecsPerRow][16] of c-bit codes (c = 2, 4 or 8;
 * element order in layout.ts); scratch: wd * 32 + 64 bytes. Codes past K are zero.
 */
export function repackToContainers(planes: usize, p: i32, n: i32, k: i32, wd: i32, c: i32, vecsPerRow: i32,
  out: usize, scratch: usize): void {
  if (!spreadReady) initSpread();
  const elems = elemsPerVec(c);
  const perByte = 8 / c;
  for (let row = 0; row < n; row++) {
    unpackRow(planes, p, n, wd, row, scratch);
    // Clear codes between wd*32 and the container's padded length (they must read as zero).
    memory.fill(scratch + (<usize>wd << 5), 0, 64);
    const dst = out + <usize>row * <usize>vecsPerRow * 16;
    if (c == 8) {
      memory.copy(dst, scratch, <usize>vecsPerRow * 16);
      continue;
    }
    for (let v = 0; v < vecsPerRow; v++) {
      const base = scratch + <usize>(v * elems);
      for (let b = 0; b < 16; b++) {
        let byte: u32 = 0;
        for (let s = 0; s < perByte; s++) byte |= <u32>load<u8>(base + <usize>(s * 16 + b)) << (s * c);
        store<u8>(dst + <usize>(v * 16 + b), <u8>byte);
      }
    }
  }
}

/** Weight code sums i32 [groups][nPad] from planes (popcount per plane, times 2^j). */
export function weightSums(planes: usize, p: i32, n: i32, wd: i32, groupWords: i32, groups: i32, nPad: i32, out: usize): void {
  memory.fill(out, 0, (<usize>groups * <usize>nPad) << 2);
  for (let j = 0; j < p; j++) {
    for (let row = 0; row < n; row++) {
      const src = planes + ((<usize>(j * n + row) * <usize>wd) << 2);
      for (let w = 0; w < wd; w++) {
        const d = out + ((<usize>((w / groupWords) * nPad + row)) << 2);
        store<i32>(d, load<i32>(d) + (popcnt<i32>(load<i32>(src + (<usize>w << 2))) << j));
      }
    }
  }
}

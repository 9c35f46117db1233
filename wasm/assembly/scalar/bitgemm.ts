/**
 * Bitwise GEMM over bit planes, scalar twin of simd/bitgemm-generated.ts (same signature, same
 * tile layout: see ../layout.ts). acc[m][g][row] = sum_i sum_j 2^(i+j) popcount(X_i & W_j), mod 2^32.
 */
export function bitGemm(p: i32, q: i32, xPlanes: usize, tiles: usize, acc: usize, m: i32, nTiles: i32,
  wd: i32, groupWords: i32, groups: i32, nPad: i32): bool {
  if (p < 1 || p > 8 || q < 1 || q > 8) return false;
  for (let t = 0; t < nTiles; t++) {
    const tile = tiles + <usize>t * <usize>wd * <usize>(p * 16);
    for (let r = 0; r < m; r++) {
      const xRow = xPlanes + <usize>r * <usize>wd * <usize>(q * 4);
      for (let g = 0; g < groups; g++) {
        const w0 = g * groupWords;
        const w1 = min(wd, w0 + groupWords);
        for (let lane = 0; lane < 4; lane++) {
          let total: u32 = 0;
          for (let w = w0; w < w1; w++) {
            const wp = tile + <usize>w * <usize>(p * 16) + <usize>(lane * 4);
            const xp = xRow + <usize>w * <usize>(q * 4);
            for (let i = 0; i < q; i++) {
              const xw = load<u32>(xp + <usize>(i * 4));
              for (let j = 0; j < p; j++) {
                total += <u32>popcnt<u32>(xw & load<u32>(wp + <usize>(j * 16))) << (i + j);
              }
            }
          }
          store<u32>(acc + ((<usize>(r * groups + g) * <usize>nPad + <usize>(t * 4 + lane)) << 2), total);
        }
      }
    }
  }
  return true;
}

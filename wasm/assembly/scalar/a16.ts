/**
 * Weight-only path (A16), scalar twin of simd/a16.ts: y[r][c] = sum_g s[g][c] * sum_{k in g} (w_k - z[g][c]) * x[r][k]
 * (+ bias). Weights in the code path's 2/4/8-bit containers (../layout.ts); x f32 [M][xStride], zero
 * past K; scales f32 / zeros i32 [G][nPad]; out f32 [M][N].
 */
import { elemsPerVec } from '../layout';

export function a16Gemm(c: i32, x: usize, xStride: i32, wCodes: usize, wScales: usize, wZeros: usize, bias: usize,
  out: usize, m: i32, n: i32, vecsPerRow: i32, groupVecs: i32, groups: i32, nPad: i32): bool {
  if (c != 2 && c != 4 && c != 8) return false;
  const perByte = 8 / c;
  const mask: u32 = (1 << c) - 1;
  const elems = elemsPerVec(c);
  for (let row = 0; row < n; row++) {
    const wRow = wCodes + <usize>row * <usize>vecsPerRow * 16;
    for (let r = 0; r < m; r++) {
      const xr = x + ((<usize>r * <usize>xStride) << 2);
      let y: f32 = 0;
      for (let g = 0; g < groups; g++) {
        const v0 = g * groupVecs;
        const v1 = min(vecsPerRow, v0 + groupVecs);
        const wi = (<usize>(g * nPad + row)) << 2;
        const z = <f32>load<i32>(wZeros + wi);
        let dot: f32 = 0;
        for (let v = v0; v < v1; v++) {
          for (let s = 0; s < perByte; s++) {
            for (let b = 0; b < 16; b++) {
              const code = (<u32>load<u8>(wRow + <usize>(v * 16 + b)) >> (s * c)) & mask;
              dot += (<f32>code - z) * load<f32>(xr + (<usize>(v * elems + s * 16 + b) << 2));
            }
          }
        }
        y += load<f32>(wScales + wi) * dot;
      }
      if (bias) y += load<f32>(bias + (<usize>row << 2));
      store<f32>(out + ((<usize>(r * n + row)) << 2), y);
    }
  }
  return true;
}

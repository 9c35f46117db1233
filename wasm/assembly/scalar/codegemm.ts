/**
 * Integer code path, scalar twin of simd/codegemm.ts: weights in 2/4/8-bit byte containers,
 * activations as u8 codes (layouts: ../layout.ts). acc[m][g][n] = sum_k x_k * w_k, mod 2^32.
 */
import { elemsPerVec } from '../layout';

export function codeGemm(c: i32, p: i32, q: i32, xCodes: usize, codeStride: i32, wCodes: usize, acc: usize,
  m: i32, n: i32, vecsPerRow: i32, groupVecs: i32, groups: i32, nPad: i32): bool {
  if (c != 2 && c != 4 && c != 8) return false;
  const perByte = 8 / c;
  const mask: u32 = (1 << c) - 1;
  const elems = elemsPerVec(c);
  for (let row = 0; row < n; row++) {
    const wRow = wCodes + <usize>row * <usize>vecsPerRow * 16;
    for (let r = 0; r < m; r++) {
      const xr = xCodes + <usize>r * <usize>codeStride;
      for (let g = 0; g < groups; g++) {
        const v0 = g * groupVecs;
        const v1 = min(vecsPerRow, v0 + groupVecs);
        let total: u32 = 0;
        for (let v = v0; v < v1; v++) {
          for (let b = 0; b < 16; b++) {
            const byte = <u32>load<u8>(wRow + <usize>(v * 16 + b));
            for (let s = 0; s < perByte; s++) {
              const code = (byte >> (s * c)) & mask;
              total += code * <u32>load<u8>(xr + <usize>(v * elems + s * 16 + b));
            }
          }
        }
        store<u32>(acc + ((<usize>(r * groups + g) * <usize>nPad + <usize>row) << 2), total);
      }
    }
  }
  return true;
}

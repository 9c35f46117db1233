/**
 * Group epilogue, scalar twin of simd/epilogue.ts: integer accumulators -> f32 outputs.
 *   y[r][c] = sum_g s_x[r][ag] * s_w[g][c] * (acc - z_w*Sx[r][g] - z_x*Sw[g][c] + K_g*z_x*z_w)  (+ bias[c])
 * The bracket is exact in i32; the sum over groups is f64 rounded to f32 once, then the bias is added
 * in f32: the same steps as shared/numerics (bitGemmEpilogueRef, PackedLinearRef), so results match it
 * to the last bit in practice (a flipped rounding here could flip an activation code downstream).
 * acc i32 [M][G][nPad]; act scales f32 / zeros i32 [M][AG]; act sums i32 [M][G];
 * weight scales f32 / zeros i32 / sums i32 [G][nPad]; bias f32 [N] or 0; out f32 [M][N].
 */
export function epilogue(acc: usize, m: i32, n: i32, nPad: i32, k: i32, groupSize: i32, groups: i32,
  actScales: usize, actZeros: usize, actGroupSize: i32, actSums: usize,
  wScales: usize, wZeros: usize, wSums: usize, bias: usize, out: usize): void {
  const actGroups = (k + actGroupSize - 1) / actGroupSize;
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let y: f64 = 0;
      for (let g = 0; g < groups; g++) {
        const kg = min(k, (g + 1) * groupSize) - g * groupSize;
        const ai = (<usize>(r * actGroups + (g * groupSize) / actGroupSize)) << 2;
        const zx = load<i32>(actZeros + ai);
        const sx = load<f32>(actScales + ai);
        const wi = (<usize>(g * nPad + c)) << 2;
        const zw = load<i32>(wZeros + wi);
        const a = load<i32>(acc + ((<usize>((r * groups + g) * nPad + c)) << 2));
        const bracket = a - zw * load<i32>(actSums + ((<usize>(r * groups + g)) << 2)) - zx * load<i32>(wSums + wi) + kg * zx * zw;
        y += <f64>sx * <f64>load<f32>(wScales + wi) * <f64>bracket;
      }
      let yf = <f32>y;
      if (bias) yf += load<f32>(bias + (<usize>c << 2));
      store<f32>(out + ((<usize>(r * n + c)) << 2), yf);
    }
  }
}

/**
 * Group epilogue, scalar twin of simd/epilogue.ts: integer accumulators -> f32 outputs.
 *   y[r][c] = sum_g s_x[r][ag] * s_w[g][c] * (acc - z_w*Sx[r][g] - z_x*Sw[g][c] + K_g*z_x*z_w)  (+ bias[c])
 * The bracket is exact in i32 (as in shared/numerics/bitgemm-ref.ts); the float sum is f32.
 * acc i32 [M][G][nPad]; act scales f32 / zeros i32 [M][AG]; act sums i32 [M][G];
 * weight scales f32 / zeros i32 / sums i32 [G][nPad]; bias f32 [N] or 0; out f32 [M][N].
 */
export function epilogue(acc: usize, m: i32, n: i32, nPad: i32, k: i32, groupSize: i32, groups: i32,
  actScales: usize, actZeros: usize, actGroupSize: i32, actSums: usize,
  wScales: usize, wZeros: usize, wSums: usize, bias: usize, out: usize): void {
  const actGroups = (k + actGroupSize - 1) / actGroupSize;
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      let y: f32 = 0;
      for (let g = 0; g < groups; g++) {
        const kg = min(k, (g + 1) * groupSize) - g * groupSize;
        const ai = (<usize>(r * actGroups + (g * groupSize) / actGroupSize)) << 2;
        const zx = load<i32>(actZeros + ai);
        const sx = load<f32>(actScales + ai);
        const wi = (<usize>(g * nPad + c)) << 2;
        const zw = load<i32>(wZeros + wi);
        const a = load<i32>(acc + ((<usize>((r * groups + g) * nPad + c)) << 2));
        const bracket = a - zw * load<i32>(actSums + ((<usize>(r * groups + g)) << 2)) - zx * load<i32>(wSums + wi) + kg * zx * zw;
        y += sx * load<f32>(wScales + wi) * <f32>bracket;
      }
      if (bias) y += load<f32>(bias + (<usize>c << 2));
      store<f32>(out + ((<usize>(r * n + c)) << 2), y);
    }
  }
}

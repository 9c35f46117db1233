/**
 * Group epilogue (SIMD across 4 output rows at a time; contract and layouts: scalar/epilogue.ts).
 * Weight parameters are [G][nPad], so one v128 load gets 4 rows' scale, zero or code sum.
 */
export function epilogue(acc: usize, m: i32, n: i32, nPad: i32, k: i32, groupSize: i32, groups: i32,
  actScales: usize, actZeros: usize, actGroupSize: i32, actSums: usize,
  wScales: usize, wZeros: usize, wSums: usize, bias: usize, out: usize): void {
  const actGroups = (k + actGroupSize - 1) / actGroupSize;
  for (let r = 0; r < m; r++) {
    const outRow = out + ((<usize>(r * n)) << 2);
    for (let c = 0; c < n; c += 4) {
      let y = f32x4.splat(0);
      for (let g = 0; g < groups; g++) {
        const kg = min(k, (g + 1) * groupSize) - g * groupSize;
        const ai = (<usize>(r * actGroups + (g * groupSize) / actGroupSize)) << 2;
        const zx = load<i32>(actZeros + ai);
        const sxs = f32x4.splat(load<f32>(actScales + ai));
        const wi = (<usize>(g * nPad + c)) << 2;
        const zw = v128.load(wZeros + wi);
        const a = v128.load(acc + ((<usize>((r * groups + g) * nPad + c)) << 2));
        const sx = i32x4.splat(load<i32>(actSums + ((<usize>(r * groups + g)) << 2)));
        // acc - zw*Sx - zx*Sw + kg*zx*zw  ==  acc - zw*(Sx - kg*zx) - zx*Sw
        const t = i32x4.mul(zw, i32x4.sub(sx, i32x4.splat(kg * zx)));
        const bracket = i32x4.sub(i32x4.sub(a, t), i32x4.mul(i32x4.splat(zx), v128.load(wSums + wi)));
        y = f32x4.add(y, f32x4.mul(f32x4.mul(sxs, v128.load(wScales + wi)), f32x4.convert_i32x4_s(bracket)));
      }
      const left = n - c;
      if (left >= 4) {
        if (bias) y = f32x4.add(y, v128.load(bias + (<usize>c << 2)));
        v128.store(outRow + (<usize>c << 2), y);
      } else {
        for (let l = 0; l < left; l++) {
          let v = f32x4.extract_lane(y, 0);
          if (l == 1) v = f32x4.extract_lane(y, 1);
          else if (l == 2) v = f32x4.extract_lane(y, 2);
          if (bias) v += load<f32>(bias + (<usize>(c + l) << 2));
          store<f32>(outRow + (<usize>(c + l) << 2), v);
        }
      }
    }
  }
}

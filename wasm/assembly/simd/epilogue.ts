/**
 * Group epilogue (SIMD across output rows; contract and layouts: scalar/epilogue.ts). Weight
 * parameters are [G][nPad], so one v128 load gets 4 rows' scale, zero or code sum. The integer
 * bracket runs in i32x4; the float sum in two f64x2 halves, rounded to f32 once (as the reference).
 */

// @ts-ignore: decorator
@inline function highHalf(v: v128): v128 {
  return i32x4.shuffle(v, v, 2, 3, 0, 1);
}

export function epilogue(acc: usize, m: i32, n: i32, nPad: i32, k: i32, groupSize: i32, groups: i32,
  actScales: usize, actZeros: usize, actGroupSize: i32, actSums: usize,
  wScales: usize, wZeros: usize, wSums: usize, bias: usize, out: usize): void {
  const actGroups = (k + actGroupSize - 1) / actGroupSize;
  for (let r = 0; r < m; r++) {
    const outRow = out + ((<usize>(r * n)) << 2);
    for (let c = 0; c < n; c += 4) {
      let y01 = f64x2.splat(0), y23 = f64x2.splat(0);
      for (let g = 0; g < groups; g++) {
        const kg = min(k, (g + 1) * groupSize) - g * groupSize;
        const ai = (<usize>(r * actGroups + (g * groupSize) / actGroupSize)) << 2;
        const zx = load<i32>(actZeros + ai);
        const sx = f64x2.splat(<f64>load<f32>(actScales + ai));
        const wi = (<usize>(g * nPad + c)) << 2;
        const zw = v128.load(wZeros + wi);
        const a = v128.load(acc + ((<usize>((r * groups + g) * nPad + c)) << 2));
        const sumX = i32x4.splat(load<i32>(actSums + ((<usize>(r * groups + g)) << 2)));
        // acc - zw*Sx - zx*Sw + kg*zx*zw  ==  acc - zw*(Sx - kg*zx) - zx*Sw   (exact, mod 2^32)
        const t = i32x4.mul(zw, i32x4.sub(sumX, i32x4.splat(kg * zx)));
        const bracket = i32x4.sub(i32x4.sub(a, t), i32x4.mul(i32x4.splat(zx), v128.load(wSums + wi)));
        const sw = v128.load(wScales + wi);
        y01 = f64x2.add(y01, f64x2.mul(f64x2.mul(sx, f64x2.promote_low_f32x4(sw)), f64x2.convert_low_i32x4_s(bracket)));
        y23 = f64x2.add(y23, f64x2.mul(f64x2.mul(sx, f64x2.promote_low_f32x4(highHalf(sw))), f64x2.convert_low_i32x4_s(highHalf(bracket))));
      }
      let y = i32x4.shuffle(f32x4.demote_f64x2_zero(y01), f32x4.demote_f64x2_zero(y23), 0, 1, 4, 5);
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

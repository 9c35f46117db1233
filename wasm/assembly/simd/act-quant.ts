/**
 * Dynamic per-token activation quantization and bit-plane packing (SIMD). Bit-exact with the scalar
 * twin and with shared/numerics/act-quant.ts: the same single f32 operations, lane-wise
 * (f32x4.nearest rounds half to even). Layouts: see ../layout.ts.
 */
import { actGroupParams, actCode } from '../scalar/act-quant';

/** Elements per SIMD step of the code loop: four f32x4 narrowed to one u8x16. */
const STEP: i32 = 16;

// @ts-ignore: decorator
@inline function codes4(xp: usize, inv: v128, zero: v128, qmax: v128): v128 {
  const c = f32x4.add(f32x4.nearest(f32x4.mul(v128.load(xp), inv)), zero);
  return i32x4.trunc_sat_f32x4_s(f32x4.min(f32x4.max(c, f32x4.splat(0)), qmax));
}

/** Results of groupMinMax (instance globals, not memory: safe when instances share a memory). */
let groupMin: f32 = 0;
let groupMax: f32 = 0;

function groupMinMax(xr: usize, k0: i32, k1: i32): void {
  let vmn = f32x4.splat(Infinity), vmx = f32x4.splat(-Infinity);
  let i = k0;
  for (; i + 4 <= k1; i += 4) {
    const v = v128.load(xr + (<usize>i << 2));
    vmn = f32x4.min(vmn, v);
    vmx = f32x4.max(vmx, v);
  }
  let mn = min(min(f32x4.extract_lane(vmn, 0), f32x4.extract_lane(vmn, 1)), min(f32x4.extract_lane(vmn, 2), f32x4.extract_lane(vmn, 3)));
  let mx = max(max(f32x4.extract_lane(vmx, 0), f32x4.extract_lane(vmx, 1)), max(f32x4.extract_lane(vmx, 2), f32x4.extract_lane(vmx, 3)));
  for (; i < k1; i++) {
    const v = load<f32>(xr + (<usize>i << 2));
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  groupMin = mn;
  groupMax = mx;
}

function byteSum(p: usize, n: i32): i32 {
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.load(p + <usize>i))));
  }
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < n; i++) s += <i32>load<u8>(p + <usize>i);
  return s;
}

/** Same contract as scalar/act-quant.ts quantizeActs. */
export function quantizeActs(x: usize, m: i32, k: i32, bits: i32, actGroup: i32, sumGroup: i32,
  codes: usize, codeStride: i32, scales: usize, zeros: usize, sums: usize): void {
  const qmax = (1 << bits) - 1;
  const groups = (k + actGroup - 1) / actGroup;
  const sumGroups = (k + sumGroup - 1) / sumGroup;
  const vq = f32x4.splat(<f32>qmax);
  for (let r = 0; r < m; r++) {
    const xr = x + ((<usize>r * <usize>k) << 2);
    const cr = codes + <usize>r * <usize>codeStride;
    for (let g = 0; g < groups; g++) {
      const k0 = g * actGroup;
      const k1 = min(k, k0 + actGroup);
      groupMinMax(xr, k0, k1);
      const pi = (<usize>(r * groups + g)) << 2;
      const inv = actGroupParams(groupMin, groupMax, qmax, scales + pi, zeros + pi);
      const zero = <f32>load<i32>(zeros + pi);
      const vinv = f32x4.splat(inv), vz = f32x4.splat(zero);
      let i = k0;
      for (; i + STEP <= k1; i += STEP) {
        const xp = xr + (<usize>i << 2);
        const a = i16x8.narrow_i32x4_u(codes4(xp, vinv, vz, vq), codes4(xp + 16, vinv, vz, vq));
        const b = i16x8.narrow_i32x4_u(codes4(xp + 32, vinv, vz, vq), codes4(xp + 48, vinv, vz, vq));
        v128.store(cr + <usize>i, i8x16.narrow_i16x8_u(a, b));
      }
      for (; i < k1; i++) store<u8>(cr + <usize>i, <u8>actCode(load<f32>(xr + (<usize>i << 2)), inv, zero, <f32>qmax));
    }
    memory.fill(cr + <usize>k, 0, <usize>(codeStride - k));
    const sr = sums + ((<usize>r * <usize>sumGroups) << 2);
    for (let s = 0; s < sumGroups; s++) {
      const k0 = s * sumGroup;
      store<i32>(sr + (<usize>s << 2), byteSum(cr + <usize>k0, min(k, k0 + sumGroup) - k0));
    }
  }
}

/**
 * codes u8 [M][codeStride] -> planes u32 [M][wd][bits]. i8x16.shl moves bit b to each byte's top
 * bit and i8x16.bitmask gathers the 16 top bits: two per 32-element word and plane.
 */
export function packActPlanes(codes: usize, m: i32, k: i32, codeStride: i32, bits: i32, planes: usize): void {
  const wd = (k + 31) >> 5;
  for (let r = 0; r < m; r++) {
    const cr = codes + <usize>r * <usize>codeStride;
    let pw = planes + ((<usize>r * <usize>wd * <usize>bits) << 2);
    for (let w = 0; w < wd; w++) {
      const c0 = v128.load(cr + <usize>(w * 32));
      const c1 = v128.load(cr + <usize>(w * 32 + 16));
      for (let b = 0; b < bits; b++) {
        const lo = <u32>i8x16.bitmask(i8x16.shl(c0, 7 - b));
        const hi = <u32>i8x16.bitmask(i8x16.shl(c1, 7 - b));
        store<u32>(pw, lo | (hi << 16));
        pw += 4;
      }
    }
  }
}

/**
 * Fake quantization (quantize then dequantize in f32) that reproduces shared/numerics exactly in the
 * forward pass, with straight-through gradients for calibration.
 *
 * Weights (per row and group; see quantizeWeightsRef): the grid comes from weightGroupParams on the
 * (optionally LWC-clipped) min/max, so scales are F16-rounded and codes identical to the packer's.
 * Backward (OmniQuant's round_ste: rounding passes gradients unchanged), per element with u = w/s,
 * r = rne(u):
 *   in range:       dout/dw = 1,  dout/ds = r - u
 *   clamped high:   dout/dw = 0,  dout/ds = qmax - z - l/s (asym) or  half (sym), dout/dl = 1 (asym)
 *   clamped low:    dout/dw = 0,  dout/ds = -z - l/s (asym)      or -half (sym), dout/dl = 1 (asym)
 * then s = (h - l)/qmax (asym) or max(|l|, |h|)/half (sym), h = max(0, c_hi * max w), l = min(0,
 * c_lo * min w): gradients reach the clip factors and the extreme weights (the F16 rounding of s is
 * passed straight through).
 *
 * Activations: dynamic per token (or group) with actQuantParams; the gradient is passed straight
 * through unchanged (the dynamic range is not learned).
 */
import { Tensor, result } from './autograd/tensor.ts';
import { actQuantCode, actQuantParams } from '../numerics/act-quant.ts';
import { effectiveGroupSize, weightCode, weightGroupParams, weightQmax, type WeightQuantSpec } from '../numerics/weight-quant.ts';
import { A16 } from '../numerics/packed-linear-ref.ts';

interface GroupState { lo: number; hi: number; iLo: number; iHi: number; scale: number; zero: number }

export function fakeQuantWeight(w: Tensor, spec: WeightQuantSpec, clipLo?: Tensor, clipHi?: Tensor): Tensor {
  // A symmetric grid has one range (max |w|): a single clip factor then scales both ends.
  if (spec.symmetric) { clipLo ??= clipHi; clipHi ??= clipLo; }
  const [n, k] = w.shape;
  const qmax = weightQmax(spec);
  const gs = effectiveGroupSize(k, spec.groupSize);
  const groups = Math.ceil(k / gs);
  const sym = spec.symmetric;
  const out = new Float32Array(w.size);
  const states: GroupState[] = new Array(n * groups);
  for (let r = 0; r < n; r++) {
    for (let g = 0; g < groups; g++) {
      const k0 = g * gs, k1 = Math.min(k, k0 + gs);
      let lo = Infinity, hi = -Infinity, iLo = k0, iHi = k0;
      for (let i = k0; i < k1; i++) {
        const v = w.data[r * k + i];
        if (!Number.isFinite(v)) throw new RangeError(`weight [${r}, ${i}] is ${v}: cannot quantize non-finite weights`);
        if (v < lo) { lo = v; iLo = i; }
        if (v > hi) { hi = v; iHi = i; }
      }
      const gi = r * groups + g;
      const cl = clipLo ? clipLo.data[gi] : 1, ch = clipHi ? clipHi.data[gi] : 1;
      const { scale, zero } = weightGroupParams(lo * cl, hi * ch, qmax, sym);
      states[gi] = { lo, hi, iLo, iHi, scale, zero };
      for (let i = k0; i < k1; i++) out[r * k + i] = Math.fround(scale * (weightCode(w.data[r * k + i], scale, zero, qmax, sym) - zero));
    }
  }
  const inputs = [w, ...(clipLo ? [clipLo] : []), ...(clipHi && clipHi !== clipLo ? [clipHi] : [])];
  return result(out, w.shape, inputs, (o) => {
    const gOut = o.grad!;
    const wg = w.requiresGrad ? w.ensureGrad() : null;
    const lg = clipLo?.requiresGrad ? clipLo.ensureGrad() : null;
    const hg = clipHi?.requiresGrad ? clipHi.ensureGrad() : null;
    const half = qmax - Math.ceil(qmax / 2);
    for (let r = 0; r < n; r++) {
      for (let g = 0; g < groups; g++) {
        const gi = r * groups + g;
        const st = states[gi];
        const k0 = g * gs, k1 = Math.min(k, k0 + gs);
        const cl = clipLo ? clipLo.data[gi] : 1, ch = clipHi ? clipHi.data[gi] : 1;
        const l = Math.min(0, st.lo * cl);
        const s = st.scale, z = st.zero;
        const cMin = sym ? z - (qmax - z) : 0;
        let ds = 0, dl = 0;
        for (let i = k0; i < k1; i++) {
          const gv = gOut[r * k + i];
          if (gv === 0) continue;
          const u = w.data[r * k + i] / s;
          const raw = Math.round(u) + z;
          if (raw > qmax) {
            if (sym) ds += gv * half; else { ds += gv * (qmax - z - l / s); dl += gv; }
          } else if (raw < cMin) {
            if (sym) ds -= gv * half; else { ds += gv * (-z - l / s); dl += gv; }
          } else {
            if (wg) wg[r * k + i] += gv;
            ds += gv * (Math.round(u) - u);
          }
        }
        if (sym) {
          // s = max(|lo*cl|, |hi*ch|) / half
          const dAbs = ds / half;
          const a = Math.abs(st.lo * cl), b = Math.abs(st.hi * ch);
          if (b >= a) {
            const sign = Math.sign(st.hi * ch);
            if (hg) hg[gi] += dAbs * sign * st.hi;
            if (wg) wg[r * k + st.iHi] += dAbs * sign * ch;
          } else {
            const sign = Math.sign(st.lo * cl);
            if (lg) lg[gi] += dAbs * sign * st.lo;
            if (wg) wg[r * k + st.iLo] += dAbs * sign * cl;
          }
        } else {
          const dh = ds / qmax;
          dl -= ds / qmax;
          if (st.hi * ch > 0) {
            if (hg) hg[gi] += dh * st.hi;
            if (wg) wg[r * k + st.iHi] += dh * ch;
          }
          if (st.lo * cl < 0) {
            if (lg) lg[gi] += dl * st.lo;
            if (wg) wg[r * k + st.iLo] += dl * cl;
          }
        }
      }
    }
  });
}

/** Fake-quantizes activations [m, k] in place into `out`: exactly dequant(quantizeActivationsRef). */
export function fakeQuantActArray(x: Float32Array, m: number, k: number, bits: number, groupSize: number, out = new Float32Array(m * k)): Float32Array {
  if (bits === A16) { out.set(x.subarray(0, m * k)); return out; }
  const qmax = (1 << bits) - 1;
  const gs = groupSize <= 0 || groupSize >= k ? k : groupSize;
  for (let r = 0; r < m; r++) {
    for (let k0 = 0; k0 < k; k0 += gs) {
      const k1 = Math.min(k, k0 + gs);
      let mn = Infinity, mx = -Infinity;
      for (let i = k0; i < k1; i++) { const v = x[r * k + i]; if (v < mn) mn = v; if (v > mx) mx = v; }
      const p = actQuantParams(mn, mx, bits);
      for (let i = k0; i < k1; i++) out[r * k + i] = Math.fround(p.scale * (actQuantCode(x[r * k + i], p, qmax) - p.zero));
    }
  }
  return out;
}

/** Activation fake-quant op with a straight-through (identity) gradient. */
export function fakeQuantAct(x: Tensor, bits: number, groupSize: number): Tensor {
  if (bits === A16) return x;
  const k = x.shape[x.shape.length - 1];
  const y = fakeQuantActArray(x.data, x.size / k, k, bits, groupSize);
  return result(y, x.shape, [x], (o) => {
    const g = o.grad!;
    const xg = x.ensureGrad();
    for (let i = 0; i < g.length; i++) xg[i] += g[i];
  });
}

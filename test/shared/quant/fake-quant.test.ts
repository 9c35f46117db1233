import { describe, expect, it } from 'vitest';
import { param, constant, backward, mse, sigmoidOp, AdamW, linear } from '../../../shared/quant/autograd/index.ts';
import { fakeQuantWeight, fakeQuantActArray, fakeQuantAct } from '../../../shared/quant/fake-quant.ts';
import { quantizeWeightsRef, dequantizeWeightsRef, quantizeActivationsRef } from '../../../shared/numerics/index.ts';
import { FakeQuantLinear, packQuantized, packedLinear } from '../../../shared/quant/quant-linear.ts';
import { Rng } from '../../../shared/util/rng.ts';

const N = 6, K = 64;

function weights(seed: number): Float32Array {
  const w = new Rng(seed).fillNormal(new Float32Array(N * K), 0.1);
  w[5] = 1.2; w[70] = -0.9; // outliers that clipping should trim
  return w;
}

describe('fake quantization matches the numerics contract exactly', () => {
  const specs = [
    { bits: 4, groupSize: 32, symmetric: false },
    { bits: 2, groupSize: 0, symmetric: false },
    { bits: 3, groupSize: 32, symmetric: true, levels: 5 }, // W2*
    { bits: 8, groupSize: 64, symmetric: true },
    { bits: 1, groupSize: 32, symmetric: false },
  ];
  for (const spec of specs) {
    it(`weights ${JSON.stringify(spec)} with and without LWC clip factors`, () => {
      const w = weights(1);
      const groups = spec.groupSize ? K / spec.groupSize : 1;
      const theta = new Float32Array(N * groups).map((_, i) => 1 + (i % 3));
      const clip = sigmoidOp(constant(theta, [N, groups]));
      const ours = fakeQuantWeight(constant(w, [N, K]), spec, clip, clip).data;
      const ref = dequantizeWeightsRef(quantizeWeightsRef(w, N, K, spec, clip.data, clip.data));
      expect(Array.from(ours)).toEqual(Array.from(ref));
      const plain = fakeQuantWeight(constant(w, [N, K]), spec).data;
      expect(Array.from(plain)).toEqual(Array.from(dequantizeWeightsRef(quantizeWeightsRef(w, N, K, spec))));
    });
  }
  it('activations per token and per group equal dequantized quantizeActivationsRef', () => {
    const x = new Rng(2).fillNormal(new Float32Array(3 * K));
    for (const [bits, g] of [[8, K], [4, 32], [6, K], [1, K]]) {
      const q = quantizeActivationsRef(x, 3, K, bits, g);
      const deq = new Float32Array(3 * K);
      for (let i = 0; i < deq.length; i++) {
        const gi = Math.floor(i / K) * (K / g) + Math.floor((i % K) / g);
        deq[i] = Math.fround(q.scales[gi] * (q.codes[i] - q.zeros[gi]));
      }
      expect(Array.from(fakeQuantActArray(x, 3, K, bits, g))).toEqual(Array.from(deq));
    }
  });
});

describe('straight-through gradients', () => {
  it('pass unchanged through in-range weights and activations, and stop at clamped weights', () => {
    const w = param(weights(3), [N, K]);
    w.data[6] = 1.1; // clamped by the 0.5 clip, and not the maximum
    const theta = param(new Float32Array(N).fill(0), [N, 1]); // clip 0.5: outliers clamp
    const clip = sigmoidOp(theta);
    const y = fakeQuantWeight(w, { bits: 4, groupSize: 0, symmetric: false }, clip, clip);
    y.grad = new Float32Array(N * K).fill(1);
    y.backwardFn!();
    clip.backwardFn!();
    expect(w.grad![1]).toBe(1);
    expect(w.grad![6]).toBe(0); // outside the clipped range
    expect(Math.abs(theta.grad![0])).toBeGreaterThan(0);
    const x = param(new Float32Array([0.3, -2, 5]), [1, 3]);
    const xq = fakeQuantAct(x, 4, 3);
    backward(mse(xq, new Float32Array(3)));
    expect(x.grad![0]).toBeCloseTo((2 / 3) * xq.data[0], 5);
  });

  it('learning the clip factors lowers the output error of a 3-bit layer (LWC)', () => {
    // Heavy-tailed rows: a few large weights stretch the 3-bit grid for all the others.
    const w = weights(4);
    const rng = new Rng(9);
    for (let i = 0; i < N * K; i += 7) w[i] = (rng.next() < 0.5 ? -1 : 1) * (0.3 + 0.3 * rng.next());
    const x = new Rng(5).fillNormal(new Float32Array(32 * K));
    const target = linear(constant(x, [32, K]), constant(w, [N, K])).data;
    const spec = { bits: 3, groupSize: 32, symmetric: false };
    const lo = param(new Float32Array(N * 2).fill(4), [N, 2]), hi = param(new Float32Array(N * 2).fill(4), [N, 2]);
    const loss = () => mse(linear(constant(x, [32, K]), fakeQuantWeight(constant(w, [N, K]), spec, sigmoidOp(lo), sigmoidOp(hi))), target);
    const before = loss().data[0];
    const opt = new AdamW([{ params: [lo, hi], lr: 0.01, weightDecay: 0 }]);
    for (let i = 0; i < 150; i++) { opt.zeroGrad(); backward(loss()); opt.update(); }
    expect(loss().data[0]).toBeLessThan(before * 0.9);
  });
});

describe('simulated and packed integer linear agree', () => {
  it('within float rounding for W4A8 g32 and W2*A8', () => {
    const w = weights(6);
    const x = new Rng(7).fillNormal(new Float32Array(5 * K));
    for (const spec of [{ bits: 4, groupSize: 32, symmetric: false }, { bits: 3, groupSize: 64, symmetric: true, levels: 5 }]) {
      const q = quantizeWeightsRef(w, N, K, spec);
      const sim = new FakeQuantLinear(packQuantized(q), 8, K).forward(x, 5);
      const int = packedLinear(packQuantized(q), 8, K).forward(x, 5);
      for (let i = 0; i < sim.length; i++) expect(Math.abs(sim[i] - int[i])).toBeLessThan(1e-5 * (1 + Math.abs(int[i])));
    }
  });
});

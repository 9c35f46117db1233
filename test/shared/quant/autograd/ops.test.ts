import { describe, expect, it } from 'vitest';
import {
  param, constant, linear, rmsNorm, rope, ropeTable, attentionProbs, attentionApply, swiglu, sigmoidOp,
  mse, symmetricKl, cosineLoss, weightedSum, mulRowVector, mulColVector, addRowVector, add, sub, mul, exp, gather,
  leftBlocks, rightBlocks, invertBlocks, invertMatrix, type Tensor,
} from '../../../../shared/quant/autograd/index.ts';
import { Rng } from '../../../../shared/util/rng.ts';
import { gradCheck } from './grad-check.ts';

const TOL = 2e-2;

function rand(rng: Rng, shape: number[], std = 1, learn = true): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = rng.fillNormal(new Float32Array(n), std);
  return learn ? param(d, shape) : constant(d, shape);
}

function target(rng: Rng, n: number): Float32Array {
  return rng.fillNormal(new Float32Array(n));
}

describe('autograd ops match finite differences', () => {
  const rng = new Rng(7);
  it('linear with bias', () => {
    const x = rand(rng, [5, 6]), w = rand(rng, [7, 6]), b = rand(rng, [7]);
    const t = target(rng, 35);
    expect(gradCheck([x, w, b], () => mse(linear(x, w, b), t)).maxRelError).toBeLessThan(TOL);
  });
  it('element-wise and broadcast ops', () => {
    const x = rand(rng, [4, 5]), y = rand(rng, [4, 5]), v = param(Float32Array.from([1.2, 0.7, 1.5, 0.9, 1.1]), [5]);
    const c = param(Float32Array.from([1.3, 0.8, 1.1, 0.6]), [4]);
    const t = target(rng, 20);
    const f = () => mse(add(mulRowVector(sub(mul(x, y), x), v, true), addRowVector(mulColVector(mulRowVector(x, exp(v)), c, true), v)), t);
    expect(gradCheck([x, y, v, c], f).maxRelError).toBeLessThan(TOL);
    const idx = Int32Array.from([0, 0, 1, 1, 4]);
    expect(gradCheck([v], () => mse(mulRowVector(x, gather(v, idx)), t)).maxRelError).toBeLessThan(TOL);
  });
  it('rmsNorm', () => {
    const x = rand(rng, [3, 8]), g = rand(rng, [8]);
    const t = target(rng, 24);
    expect(gradCheck([x, g], () => mse(rmsNorm(x, g, 1e-5), t)).maxRelError).toBeLessThan(TOL);
  });
  it('rope is a rotation and its gradient is the inverse rotation', () => {
    const x = rand(rng, [4, 16]);
    const table = ropeTable(4, 8, 10000);
    const y = rope(x, table, 2);
    let nx = 0, ny = 0;
    for (let i = 0; i < x.size; i++) { nx += x.data[i] ** 2; ny += y.data[i] ** 2; }
    expect(ny).toBeCloseTo(nx, 3);
    const t = target(rng, 64);
    expect(gradCheck([x], () => mse(rope(x, table, 2), t)).maxRelError).toBeLessThan(TOL);
  });
  it('causal GQA attention (probs and apply) and the KL / cosine losses', () => {
    const shape = { heads: 4, kvHeads: 2, headDim: 4 };
    const q = rand(rng, [5, 16]), k = rand(rng, [5, 8]), v = rand(rng, [5, 8]);
    const t = target(rng, 80);
    const p0 = attentionProbs(constant(rng.fillNormal(new Float32Array(80)), [5, 16]), k, shape).data.slice();
    const f = () => {
      const p = attentionProbs(q, k, shape);
      const o = attentionApply(p, v, shape);
      return weightedSum([{ loss: mse(o, t), weight: 1 }, { loss: symmetricKl(p, p0, 5), weight: 0.5 }, { loss: cosineLoss(o, t, 16), weight: 0.3 }]);
    };
    expect(gradCheck([q, k, v], f).maxRelError).toBeLessThan(TOL);
    // Causal mask: the first token attends only to itself.
    const p = attentionProbs(q, k, shape);
    expect(p.data[0]).toBe(1);
    expect(p.data[1]).toBe(0);
  });
  it('swiglu and sigmoid', () => {
    const g = rand(rng, [3, 6]), u = rand(rng, [3, 6]);
    const t = target(rng, 18);
    expect(gradCheck([g, u], () => mse(swiglu(sigmoidOp(g), u), t)).maxRelError).toBeLessThan(TOL);
  });
  it('block transforms and block inverse', () => {
    const d = 3;
    const a = param(Float32Array.from({ length: 2 * d * d }, (_, i) => (i % (d + 1) === 0 ? 2 : 0) + 0.3 * Math.sin(i)), [2, d, d]);
    const inv = invertMatrix(a.data, d, 0);
    // A * A^-1 = I
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let s = 0;
      for (let l = 0; l < d; l++) s += a.data[i * d + l] * inv[l * d + j];
      expect(s).toBeCloseTo(i === j ? 1 : 0, 5);
    }
    const w = rand(rng, [6, 4]), w2 = rand(rng, [5, 12]);
    const map = Int32Array.from([0, 1, 1, 0]);
    const t1 = target(rng, 24), t2 = target(rng, 60);
    const f = () => weightedSum([
      { loss: mse(leftBlocks(invertBlocks(a, d), w, d, true), t1), weight: 1 },
      { loss: mse(rightBlocks(w2, a, d, map, true), t2), weight: 1 },
      { loss: mse(rightBlocks(w2, a, d, map), t2), weight: 0.5 },
      { loss: mse(leftBlocks(a, w, d), t1), weight: 0.5 },
    ]);
    expect(gradCheck([a, w, w2], f, 1e-2).maxRelError).toBeLessThan(TOL);
  });
});

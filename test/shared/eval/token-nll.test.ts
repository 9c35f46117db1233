import { describe, expect, it } from 'vitest';
import { tokenNll } from '../../../shared/eval/token-nll.ts';

describe('tokenNll', () => {
  it('equals -log softmax computed directly', () => {
    const row = Float32Array.from([0.5, -1.25, 2, 0]);
    const z = Array.from(row).reduce((s, x) => s + Math.exp(x), 0);
    for (let t = 0; t < 4; t++) expect(tokenNll(row, 0, 4, t)).toBeCloseTo(-Math.log(Math.exp(row[t]) / z), 12);
  });

  it('reads one row of a [tokens][vocab] buffer', () => {
    const logits = Float32Array.from([9, 9, 9, 0, 0, 0]);
    expect(tokenNll(logits, 3, 3, 1)).toBeCloseTo(Math.log(3), 12);
  });

  it('does not overflow on large logits (log-sum-exp with the max taken out)', () => {
    const row = Float32Array.from([1e4, 1e4, -1e4]);
    expect(tokenNll(row, 0, 3, 0)).toBeCloseTo(Math.log(2), 12);
    expect(tokenNll(row, 0, 3, 2)).toBeCloseTo(2e4 + Math.log(2), 6);
  });

  it('rejects a bad target and NaN logits with a clear message', () => {
    expect(() => tokenNll(new Float32Array(4), 0, 4, 4)).toThrow(/target token 4 is outside the model's vocabulary 0\.\.3/);
    expect(() => tokenNll(Float32Array.from([NaN, NaN]), 0, 2, 0)).toThrow(/NaN or infinity/);
  });
});

import { describe, it, expect } from 'vitest';
import { Sampler, argmax } from '../../../shared/model/sampling.ts';

const LOGITS = new Float32Array([0.5, 2.0, 1.0, -1.0, 2.0, 0.0]);

function counts(sampler: Sampler, draws: number): number[] {
  const c = new Array(LOGITS.length).fill(0);
  for (let i = 0; i < draws; i++) c[sampler.sample(LOGITS)]++;
  return c;
}

describe('Sampler', () => {
  it('temperature 0 is argmax (first on ties)', () => {
    expect(argmax(LOGITS)).toBe(1);
    expect(new Sampler({ temperature: 0 }).sample(LOGITS)).toBe(1);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = counts(new Sampler({ seed: 42 }), 200);
    const b = counts(new Sampler({ seed: 42 }), 200);
    expect(a).toEqual(b);
    const seqA = Array.from({ length: 50 }, ((s) => () => s.sample(LOGITS))(new Sampler({ seed: 1 })));
    const seqB = Array.from({ length: 50 }, ((s) => () => s.sample(LOGITS))(new Sampler({ seed: 2 })));
    expect(seqA).not.toEqual(seqB);
  });

  it('temperature 1 follows softmax(logits)', () => {
    const draws = 20000;
    const c = counts(new Sampler({ seed: 3 }), draws);
    const z = Array.from(LOGITS).reduce((s, l) => s + Math.exp(l), 0);
    LOGITS.forEach((l, i) => expect(Math.abs(c[i] / draws - Math.exp(l) / z)).toBeLessThan(0.015));
  });

  it('top-k keeps only the k most likely tokens', () => {
    const c = counts(new Sampler({ seed: 4, topK: 2 }), 2000);
    expect(c[1] + c[4]).toBe(2000);
    expect(c[1]).toBeGreaterThan(800);
    expect(c[4]).toBeGreaterThan(800);
  });

  it('top-p keeps the smallest set reaching p', () => {
    // softmax mass: tokens 1 and 4 hold ~0.35 each, token 2 ~0.13: p = 0.75 needs three tokens.
    const c = counts(new Sampler({ seed: 5, topP: 0.75 }), 3000);
    expect(c[0] + c[3] + c[5]).toBe(0);
    expect(c[2]).toBeGreaterThan(0);
    expect(counts(new Sampler({ seed: 5, topP: 0.01 }), 100)[1]).toBe(100);
  });

  it('low temperature concentrates on the best tokens', () => {
    const c = counts(new Sampler({ seed: 6, temperature: 0.05 }), 1000);
    expect(c[1] + c[4]).toBe(1000);
  });

  it('rejects bad parameters', () => {
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature/);
    expect(() => new Sampler({ topK: 1.5 })).toThrow(/topK/);
    expect(() => new Sampler({ topP: 0 })).toThrow(/topP/);
  });
});

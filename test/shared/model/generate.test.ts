import { describe, it, expect } from 'vitest';
import { generateTokens } from '../../../shared/model/generate.ts';
import { argmax } from '../../../shared/model/sampling.ts';
import { randomModel } from './random-model.ts';

describe('generateTokens', () => {
  const { model } = randomModel({ max_position_embeddings: 40 });
  const prompt = [1, 7, 9];

  it('greedy equals a hand-written decode loop', () => {
    const cache = model.newCache();
    let logits = model.forward(prompt, cache);
    const manual: number[] = [];
    for (let i = 0; i < 12; i++) {
      manual.push(argmax(logits));
      logits = model.forward([manual[i]], cache);
    }
    expect([...generateTokens(model, prompt, { maxNewTokens: 12, stopIds: [], sampling: { temperature: 0 } })]).toEqual(manual);
  });

  it('stops before a stop id, and at max_position_embeddings', () => {
    const greedy = [...generateTokens(model, prompt, { maxNewTokens: 12, stopIds: [], sampling: { temperature: 0 } })];
    const stopAt = greedy[5];
    const first = greedy.indexOf(stopAt);
    expect([...generateTokens(model, prompt, { maxNewTokens: 12, stopIds: [stopAt], sampling: { temperature: 0 } })]).toEqual(greedy.slice(0, first));
    expect([...generateTokens(model, prompt, { maxNewTokens: 100, stopIds: [], sampling: { temperature: 0 } })].length).toBe(40 - prompt.length);
  });

  it('seeded sampling is reproducible', () => {
    const run = (seed: number) => [...generateTokens(model, prompt, { maxNewTokens: 20, stopIds: [], sampling: { temperature: 1, seed } })];
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});

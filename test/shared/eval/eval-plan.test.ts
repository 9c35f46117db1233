import { describe, expect, it } from 'vitest';
import { planPerStory, planStream, planWikitext } from '../../../shared/eval/eval-plan.ts';

const docs = (...lengths: number[]): number[][] => {
  let next = 10;
  return lengths.map((n) => [1, ...Array.from({ length: n - 1 }, () => next++)]);
};

describe('stream protocol', () => {
  it('scores every next-token target once: chunks of seqlen + 1 overlapping by one', () => {
    const plan = planStream(docs(4, 3, 5), 4);
    const stream = docs(4, 3, 5).flat();
    expect(plan.tokens).toBe(12);
    expect(plan.targets).toBe(11);
    expect(plan.windows.map((w) => Array.from(w))).toEqual([stream.slice(0, 5), stream.slice(4, 9), stream.slice(8, 12)]);
  });

  it('reproduces the reference count: 6,627 tokens, 512-token windows -> 6,626 targets in 13 windows', () => {
    const plan = planStream([Array.from({ length: 6627 }, (_, i) => i % 500)], 512);
    expect(plan.targets).toBe(6626);
    expect(plan.windows).toHaveLength(13);
    expect(plan.windows.every((w) => w.length <= 513)).toBe(true);
  });

  it('drops a last chunk that would hold one token (nothing to score)', () => {
    const plan = planStream(docs(9), 4);
    expect(plan.windows.map((w) => w.length)).toEqual([5, 5]);
    expect(plan.targets).toBe(8);
  });

  it('--max-tokens cuts the stream before windowing', () => {
    const plan = planStream(docs(10, 10), 8, 12);
    expect(plan.tokens).toBe(12);
    expect(plan.targets).toBe(11);
  });
});

describe('per-story protocol', () => {
  it('runs each story alone from BOS, truncated to seqlen', () => {
    const plan = planPerStory(docs(3, 10, 1), 4);
    expect(plan.windows.map((w) => w.length)).toEqual([3, 4]); // a 1-token story has no target
    expect(plan.targets).toBe(2 + 3);
    expect(plan.windows.every((w) => w[0] === 1)).toBe(true);
  });

  it('--max-tokens stops taking stories once the budget is used', () => {
    const plan = planPerStory(docs(5, 5, 5), 8, 7);
    expect(plan.windows.map((w) => w.length)).toEqual([5, 2]);
    expect(plan.tokens).toBe(7);
  });
});

describe('wikitext (GPTQ) protocol', () => {
  it('cuts non-overlapping seqlen windows, drops the tail, scores seqlen - 1 targets per window', () => {
    const tokens = Array.from({ length: 10 }, (_, i) => i);
    const plan = planWikitext(tokens, 4);
    expect(plan.windows.map((w) => Array.from(w))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(plan.targets).toBe(6);
    expect(plan.tokens).toBe(8);
  });

  it('gives the papers\' window count for LLaMA-2 WikiText-2: 341,469 tokens -> 166 windows of 2,048', () => {
    const plan = planWikitext(new Array(341_469).fill(5), 2048);
    expect(plan.windows).toHaveLength(166);
    expect(plan.targets).toBe(166 * 2047);
  });

  it('explains an empty plan', () => {
    expect(() => planWikitext([1, 2, 3], 4)).toThrow(/found nothing to score \(3 tokens, seqlen 4\).*smaller --seqlen/);
    expect(() => planStream(docs(4), 1)).toThrow(/seqlen must be an integer >= 2, got 1/);
    expect(() => planStream(docs(4), 4, 1)).toThrow(/maxTokens must be an integer >= 2/);
  });
});

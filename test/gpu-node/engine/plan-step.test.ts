import { describe, expect, it } from 'vitest';
import { BlockAllocator } from '../../../gpu-node/engine/kv-blocks.ts';
import { planStep } from '../../../gpu-node/engine/plan-step.ts';

const seq = (seqId: number, length: number, computed = 0) => ({ seqId, tokens: { length }, computed });
const limits = { maxBatchTokens: 16, maxSeqs: 8, watermarkBlocks: 0 };

describe('planStep', () => {
  it('puts decodes first, then prompt chunks, then admissions, within the token budget', () => {
    const alloc = new BlockAllocator(32, 4);
    const decoding = seq(1, 6, 5);
    const prefilling = seq(2, 30, 4);
    alloc.grow(1, 6);
    alloc.grow(2, 30);
    const running = [prefilling, decoding];
    const waiting = [seq(3, 5), seq(4, 5)];
    const plan = planStep(running, waiting, alloc, limits);
    expect(plan.steps.map((s) => [s.seq.seqId, s.count, s.sample])).toEqual([[1, 1, true], [2, 15, false]]);
    expect(plan.admitted).toEqual([]); // no budget left
    const next = planStep(running, waiting, alloc, { ...limits, maxBatchTokens: 40 });
    // (planStep does not advance `computed`; the scheduler does once the step ran.)
    expect(next.steps.map((s) => [s.seq.seqId, s.count, s.sample])).toEqual([[1, 1, true], [2, 26, true], [3, 5, true], [4, 5, true]]);
    expect(next.admitted.map((s) => s.seqId)).toEqual([3, 4]);
  });

  it('preempts the most recently admitted sequence for a decode that needs a block, and admits nothing that iteration', () => {
    const alloc = new BlockAllocator(3, 4);
    const older = seq(1, 5, 4); // needs a 2nd block
    const newer = seq(2, 4, 3);
    alloc.grow(1, 4);
    alloc.grow(2, 4);
    const blocker = seq(9, 4);
    alloc.grow(9, 4);
    const running = [older, newer, blocker];
    const waiting = [seq(5, 1)];
    const plan = planStep(running, waiting, alloc, limits);
    expect(plan.preempted.map((s) => s.seqId)).toEqual([9]);
    expect(blocker.computed).toBe(0);
    expect(running.map((s) => s.seqId)).toEqual([1, 2]);
    expect(waiting.map((s) => s.seqId)).toEqual([9, 5]); // back at the front
    expect(plan.admitted).toEqual([]);
    expect(plan.steps.map((s) => s.seq.seqId)).toEqual([1, 2]);
    expect(alloc.held(1)).toBe(2);
  });

  it('keeps the watermark free when others run, but admits into an empty node whatever fits', () => {
    const alloc = new BlockAllocator(4, 4);
    const waiting = [seq(1, 16), seq(2, 1)];
    const running: ReturnType<typeof seq>[] = [];
    planStep(running, waiting, alloc, { ...limits, watermarkBlocks: 1 });
    expect(running.map((s) => s.seqId)).toEqual([1]); // all 4 blocks
    expect(waiting.map((s) => s.seqId)).toEqual([2]);
  });
});

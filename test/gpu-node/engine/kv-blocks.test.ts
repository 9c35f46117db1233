import { describe, expect, it } from 'vitest';
import { BlockAllocator } from '../../../gpu-node/engine/kv-blocks.ts';

describe('BlockAllocator', () => {
  it('grows block tables by token count, in position order, from a free list', () => {
    const a = new BlockAllocator(8, 4);
    expect(a.blocksFor(0)).toBe(0);
    expect(a.blocksFor(1)).toBe(1);
    expect(a.blocksFor(4)).toBe(1);
    expect(a.blocksFor(5)).toBe(2);
    expect(a.grow(1, 5)).toBe(true);
    expect(Array.from(a.table(1))).toEqual([0, 1]);
    expect(a.grow(1, 8)).toBe(true); // still 2 blocks
    expect(a.held(1)).toBe(2);
    expect(a.grow(2, 3)).toBe(true);
    expect(a.grow(1, 9)).toBe(true);
    expect(Array.from(a.table(1))).toEqual([0, 1, 3]);
    expect(Array.from(a.table(2))).toEqual([2]);
    expect(a.free).toBe(4);
    expect(a.missing(2, 20)).toBe(4);
    expect(a.sequences).toBe(2);
  });

  it('is all-or-nothing: a grow that does not fit changes nothing', () => {
    const a = new BlockAllocator(4, 2);
    expect(a.grow(1, 4)).toBe(true);
    expect(a.grow(2, 8)).toBe(false);
    expect(a.held(2)).toBe(0);
    expect(a.free).toBe(2);
    expect(a.grow(1, 12)).toBe(false);
    expect(a.held(1)).toBe(2);
  });

  it('frees every block of a sequence at once and reuses them', () => {
    const a = new BlockAllocator(4, 2);
    a.grow(1, 6);
    a.grow(2, 2);
    a.release(1);
    a.release(1); // idempotent
    a.release(99); // a sequence holding nothing
    expect(a.free).toBe(3);
    expect(a.table(1).length).toBe(0);
    expect(a.grow(3, 6)).toBe(true);
    expect(new Set([...a.table(3), ...a.table(2)]).size).toBe(4); // no block handed out twice
    expect(a.free).toBe(0);
  });

  it('refuses nonsensical sizes with a message naming them', () => {
    expect(() => new BlockAllocator(0, 16)).toThrow(/numBlocks 0/);
    expect(() => new BlockAllocator(4, 1.5)).toThrow(/blockSize 1.5/);
  });
});

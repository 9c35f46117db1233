/** The measured path table lookup and the container choice rules. */
import { describe, expect, it } from 'vitest';
import { choosePath, INT_PATHS, pathSupports, type PathTable } from '../../wasm/src/path-choice.ts';
import { containerBits } from '../../wasm/src/quant-linear.ts';

const TABLE: PathTable = {
  machine: 'test',
  entries: [
    { p: 2, q: 8, n: 288, k: 768, m: 1, best: 'planes' },
    { p: 2, q: 8, n: 2048, k: 2048, m: 1, best: 'codes' },
    { p: 2, q: 8, n: 2048, k: 2048, m: 16, best: 'planes' },
    { p: 2, q: 8, n: 4096, k: 11008, m: 1, best: 'lutpairs' },
    { p: 3, q: 8, n: 4096, k: 11008, m: 1, best: 'lut' },
  ],
};

describe('choosePath', () => {
  it('takes the entry of the same (p, q) and M bucket with the nearest weight size', () => {
    expect(choosePath(2, 8, 300, 800, 1, TABLE)).toBe('planes');
    expect(choosePath(2, 8, 2048, 4096, 1, TABLE)).toBe('codes');
    expect(choosePath(2, 8, 4096, 11008, 1, TABLE)).toBe('lutpairs');
    expect(choosePath(3, 8, 4096, 11008, 1, TABLE)).toBe('lut');
    expect(choosePath(2, 8, 64, 172, 8, TABLE)).toBe('planes');
  });
  it('falls back to popcounts only for the smallest bit products when nothing was measured', () => {
    expect(choosePath(1, 2, 64, 64, 1, TABLE)).toBe('planes');
    expect(choosePath(4, 8, 64, 64, 1, TABLE)).toBe('codes');
  });
});

describe('pathSupports', () => {
  it('offers the plane-pair lookup path for even weight bits only; every other path for all', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].filter((p) => pathSupports('lutpairs', p))).toEqual([2, 4, 6, 8]);
    for (const path of INT_PATHS.filter((x) => x !== 'lutpairs')) expect(pathSupports(path, 3)).toBe(true);
  });
});

describe('containerBits', () => {
  it('picks the smallest container that holds the codes and tiles the group', () => {
    expect(containerBits(1, 256, 256)).toBe(2);
    expect(containerBits(2, 256, 64)).toBe(2);
    expect(containerBits(2, 256, 32)).toBe(4); // a 2-bit vector covers 64 elements: too wide for groups of 32
    expect(containerBits(3, 100, 100)).toBe(4);
    expect(containerBits(5, 256, 32)).toBe(8);
  });
  it('refuses group sizes the format does not allow', () => {
    expect(() => containerBits(4, 256, 48)).toThrow(/multiple of 32/);
  });
});

import { describe, expect, it } from 'vitest';
import { packBitPlanes, unpackBitPlanes, paddingIsZero, popcount32, wordsPerRow } from '../../../shared/format/bitplanes.ts';
import { Rng } from '../../../shared/util/rng.ts';

describe('bit planes', () => {
  it('round-trips every bit width 1..8 on odd K, bit-exact', () => {
    const rng = new Rng(1);
    for (let bits = 1; bits <= 8; bits++) {
      for (const k of [1, 31, 32, 33, 63, 172, 257]) {
        const rows = 3;
        const codes = new Uint8Array(rows * k).map(() => rng.int(0, (1 << bits) - 1));
        const planes = packBitPlanes(codes, rows, k, bits);
        expect(planes.length).toBe(bits * rows * wordsPerRow(k));
        expect(paddingIsZero(planes, rows, k, bits)).toBe(true);
        expect(unpackBitPlanes(planes, rows, k, bits)).toEqual(codes);
      }
    }
  });

  it('puts element k at bit k % 32 of word k / 32, LSB first, plane b = bit b', () => {
    const k = 40;
    const codes = new Uint8Array(k);
    codes[0] = 0b01; // plane 0, word 0, bit 0
    codes[33] = 0b10; // plane 1, word 1, bit 1
    const planes = packBitPlanes(codes, 1, k, 2);
    expect(Array.from(planes)).toEqual([1, 0, 0, 2]);
  });

  it('rejects a code that does not fit', () => {
    expect(() => packBitPlanes(new Uint8Array([4]), 1, 1, 2)).toThrow(/does not fit in 2 bits/);
  });

  it('detects non-zero padding', () => {
    const planes = packBitPlanes(new Uint8Array(33).fill(1), 1, 33, 1);
    planes[1] |= 1 << 5;
    expect(paddingIsZero(planes, 1, 33, 1)).toBe(false);
  });

  it('popcount32 matches a bit loop', () => {
    const rng = new Rng(2);
    for (let t = 0; t < 1000; t++) {
      const x = rng.nextU32();
      let c = 0;
      for (let b = 0; b < 32; b++) c += (x >>> b) & 1;
      expect(popcount32(x)).toBe(c);
    }
  });
});

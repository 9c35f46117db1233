import { describe, it, expect } from 'vitest';
import { applyRope, ropeAngles, ropeInvFreq } from '../../../shared/model/rope.ts';

describe('RoPE', () => {
  it('inverse frequencies theta^(-2i/D)', () => {
    const inv = ropeInvFreq(8, 10000);
    expect(Array.from(inv)).toEqual([1, 10000 ** -0.25, 10000 ** -0.5, 10000 ** -0.75]);
  });

  it('llama3 scaling of LLaMA-3.1-8B: high frequencies kept, low ones divided by 8, smooth between', () => {
    const scaling = { type: 'llama3' as const, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    const base = ropeInvFreq(128, 500000);
    const inv = ropeInvFreq(128, 500000, scaling);
    expect(inv[0]).toBe(base[0]);
    expect(inv[63]).toBeCloseTo(base[63] / 8, 20);
    let medium = 0;
    for (let i = 0; i < 64; i++) {
      const wavelen = (2 * Math.PI) / base[i];
      if (wavelen < 8192 / 4) expect(inv[i]).toBe(base[i]);
      else if (wavelen > 8192) expect(inv[i]).toBe(base[i] / 8);
      else {
        medium++;
        expect(inv[i]).toBeLessThanOrEqual(base[i]);
        expect(inv[i]).toBeGreaterThanOrEqual(base[i] / 8);
      }
    }
    expect(medium).toBeGreaterThan(0);
  });

  it('linear scaling divides every frequency', () => {
    const inv = ropeInvFreq(16, 10000, { type: 'linear', factor: 4 });
    expect(Array.from(inv)).toEqual(Array.from(ropeInvFreq(16, 10000)).map((f) => f / 4));
  });

  it('rotate-half pairs element i with i + D/2, keeps norms, and is the identity at position 0', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0, 0, 0, 0, 0]); // 2 tokens x 1 head x 8 dims
    const inv = ropeInvFreq(8, 10000);
    applyRope(x, 2, 1, 8, ropeAngles(inv, [0, 1]));
    expect(Array.from(x.subarray(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Token 1: only element 0 is set; rotation by angle 1 moves part of it into element 4.
    expect(x[8]).toBeCloseTo(Math.cos(1), 6);
    expect(x[12]).toBeCloseTo(Math.sin(1), 6);
    expect(x[9] + x[10] + x[11] + x[13] + x[14] + x[15]).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { packBitPlanes } from '../../../shared/format/bitplanes.ts';
import { roundToF16 } from '../../../shared/format/f16.ts';
import {
  A16, PackedLinearRef, bitGemmAccRef, codeGemmAccRef, quantizeActivationsRef, quantizeWeightsRef,
  dequantizeWeightsRef, roundHalfEven, weightCodeSums, weightCodeSumsFromPlanes,
} from '../../../shared/numerics/index.ts';
import { Rng } from '../../../shared/util/rng.ts';

function randomMatrix(rng: Rng, n: number): Float32Array {
  return rng.fillNormal(new Float32Array(n));
}

describe('reference numerics', () => {
  it('rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  it('popcount accumulators equal code dot products for every (p, q) and ragged shapes', () => {
    const rng = new Rng(7);
    for (let p = 1; p <= 8; p++) {
      for (let q = 1; q <= 8; q++) {
        const m = rng.int(1, 3), n = rng.int(1, 4), k = rng.int(1, 100);
        const gs = k > 64 && rng.next() < 0.5 ? 32 : k;
        const x = new Uint8Array(m * k).map(() => rng.int(0, (1 << q) - 1));
        const w = new Uint8Array(n * k).map(() => rng.int(0, (1 << p) - 1));
        const viaPlanes = bitGemmAccRef(packBitPlanes(x, m, k, q), q, packBitPlanes(w, n, k, p), p, m, n, k, gs);
        expect(viaPlanes).toEqual(codeGemmAccRef(x, w, m, n, k, gs));
        expect(weightCodeSumsFromPlanes(packBitPlanes(w, n, k, p), p, n, k, gs)).toEqual(weightCodeSums(w, n, k, gs));
      }
    }
  });

  it('activation codes reconstruct within half a step, zero is exact', () => {
    const rng = new Rng(3);
    const k = 77;
    const x = randomMatrix(rng, 2 * k);
    x[5] = 0;
    for (let bits = 1; bits <= 8; bits++) {
      const qa = quantizeActivationsRef(x, 2, k, bits);
      for (let r = 0; r < 2; r++) {
        const s = qa.scales[r], z = qa.zeros[r];
        for (let i = 0; i < k; i++) {
          const err = Math.abs(s * (qa.codes[r * k + i] - z) - x[r * k + i]);
          expect(err).toBeLessThanOrEqual(s * 0.5 + 1e-6);
        }
      }
      expect(qa.scales[0] * (qa.codes[5] - qa.zeros[0])).toBe(0);
    }
  });

  it('weight scales are F16 values and symmetric grids are symmetric', () => {
    const rng = new Rng(4);
    const w = randomMatrix(rng, 4 * 64);
    const q = quantizeWeightsRef(w, 4, 64, { bits: 3, groupSize: 32, symmetric: true, levels: 5 });
    for (const s of q.scales) expect(roundToF16(s)).toBe(s);
    for (const z of q.zeros) expect(z).toBe(2);
    for (const c of q.codes) expect(c).toBeLessThanOrEqual(4);
  });

  it('the integer path approximates the float product, and A16 matches dequantized weights', () => {
    const rng = new Rng(5);
    const m = 3, n = 8, k = 96;
    const x = randomMatrix(rng, m * k);
    const w = randomMatrix(rng, n * k);
    const qw = quantizeWeightsRef(w, n, k, { bits: 8, groupSize: 32, symmetric: false });
    const packed = { n, k, bits: 8, groupSize: 32, planes: packBitPlanes(qw.codes, n, k, 8), scales: qw.scales, zeros: qw.zeros };
    const exact = new Float32Array(m * n);
    for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += x[r * k + i] * w[c * k + i];
      exact[r * n + c] = s;
    }
    const yPlanes = new PackedLinearRef(packed, { bits: 8, groupSize: k }).forward(x, m);
    const yCodes = new PackedLinearRef(packed, { bits: 8, groupSize: k }, { accumulate: 'codes' }).forward(x, m);
    expect(yCodes).toEqual(yPlanes);
    for (let i = 0; i < m * n; i++) expect(Math.abs(yPlanes[i] - exact[i])).toBeLessThan(0.25);
    const deq = dequantizeWeightsRef(qw);
    const y16 = new PackedLinearRef(packed, { bits: A16, groupSize: 0 }).forward(x, m);
    for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += x[r * k + i] * deq[c * k + i];
      expect(y16[r * n + c]).toBeCloseTo(s, 4);
    }
  });
});

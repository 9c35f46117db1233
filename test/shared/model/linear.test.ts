import { describe, it, expect } from 'vitest';
import { DenseLinear, matmulTransB } from '../../../shared/model/linear.ts';
import { Rng } from '../../../shared/util/rng.ts';

function naive(x: Float32Array, m: number, w: Float32Array, n: number, k: number, bias?: Float32Array): Float32Array {
  const y = new Float32Array(m * n);
  for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) {
    let s = 0;
    for (let i = 0; i < k; i++) s += x[r * k + i] * w[c * k + i];
    y[r * n + c] = s;
  }
  // The bias is added to the f32-rounded product (as PackedLinearRef does too).
  if (bias) for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) y[r * n + c] += bias[c];
  return y;
}

describe('matmulTransB (blocked dense kernel)', () => {
  const rng = new Rng(7);
  // Awkward sizes reach every remainder path: m % 4, odd n within a tile, k not a multiple of anything.
  for (const m of [1, 2, 3, 4, 5, 8, 9]) {
    for (const [n, k] of [[1, 1], [3, 17], [7, 64], [13, 5], [130, 33]]) {
      it(`m=${m} n=${n} k=${k} equals the naive triple loop exactly`, () => {
        const x = rng.fillNormal(new Float32Array(m * k));
        const w = rng.fillNormal(new Float32Array(n * k));
        const bias = rng.fillNormal(new Float32Array(n));
        // Same summation order (i ascending, f64) as the naive loop, so bit-identical.
        expect(Array.from(matmulTransB(x, m, w, n, k))).toEqual(Array.from(naive(x, m, w, n, k)));
        expect(Array.from(new DenseLinear(w, n, k, bias).forward(x, m))).toEqual(Array.from(naive(x, m, w, n, k, bias)));
      });
    }
  }

  it('several weight tiles (large k makes tiles of 8 rows)', () => {
    const [m, n, k] = [5, 19, 20000];
    const x = rng.fillNormal(new Float32Array(m * k));
    const w = rng.fillNormal(new Float32Array(n * k));
    expect(Array.from(matmulTransB(x, m, w, n, k))).toEqual(Array.from(naive(x, m, w, n, k)));
  });

  it('checks shapes', () => {
    expect(() => new DenseLinear(new Float32Array(5), 2, 3)).toThrow(/expected 2x3 = 6/);
    expect(() => new DenseLinear(new Float32Array(6), 2, 3, new Float32Array(3))).toThrow(/bias has 3 elements, expected 2/);
    expect(() => new DenseLinear(new Float32Array(6), 2, 3).forward(new Float32Array(4), 1)).toThrow(/expected 1x3/);
  });
});

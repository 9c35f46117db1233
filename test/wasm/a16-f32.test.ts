/**
 * Weight-only (A16) path against PackedLinearRef, and the f32 block kernels against plain
 * TypeScript, each on both builds (SIMD and scalar twins).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { packBitPlanes } from '../../shared/format/bitplanes.ts';
import { PackedLinearRef, type PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import { Rng } from '../../shared/util/rng.ts';
import { QuantLinear } from '../../wasm/src/quant-linear.ts';
import { allocWorkspace } from '../../wasm/src/workspace.ts';
import { FLAVORS, kernelEnv, type KernelEnv } from './kernel-env.ts';

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, tag: string): void {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    if (Math.abs(got[i] - want[i]) > rel * (scale + 1e-6)) expect(got[i], `${tag}[${i}]`).toBeCloseTo(want[i], 6);
  }
}

describe('A16 and f32 kernels', () => {
  const envs: Record<string, KernelEnv> = {};
  beforeAll(async () => {
    for (const f of FLAVORS) envs[f] = await kernelEnv(f);
  });

  for (const flavor of FLAVORS) {
    it(`${flavor}: A16 linear matches the dequantized reference for 1..8 bits and ragged shapes`, () => {
      const rng = new Rng(7);
      const { kernels, arena } = envs[flavor];
      for (let p = 1; p <= 8; p++) {
        for (const s of [{ m: 1, n: 6, k: 77, g: 0 }, { m: 3, n: 5, k: 192, g: 64 }, { m: 2, n: 3, k: 160, g: 32 }]) {
          const gs = s.g || s.k;
          const groups = Math.ceil(s.k / gs);
          const codes = new Uint8Array(s.n * s.k).map(() => rng.int(0, (1 << p) - 1));
          const w: PackedWeights = {
            n: s.n, k: s.k, bits: p, groupSize: gs, planes: packBitPlanes(codes, s.n, s.k, p),
            scales: new Float32Array(s.n * groups).map(() => Math.fround(0.01 + 0.1 * rng.next())),
            zeros: new Uint8Array(s.n * groups).map(() => rng.int(0, (1 << p) - 1)),
            bias: new Float32Array(s.n).map(() => rng.normal()),
          };
          const x = rng.fillNormal(new Float32Array(s.m * s.k));
          const want = new PackedLinearRef(w, { bits: 16, groupSize: 0 }).forward(x, s.m);
          const mark = arena.used;
          const lin = new QuantLinear(kernels, arena, { weights: w, actBits: 16, actGroupSize: 0, path: 'codes' });
          const ws = allocWorkspace(arena, { maxM: s.m, maxK: s.k, maxAccPerRow: lin.accPerRow, maxGroups: groups });
          const y = arena.alloc(s.m * s.n * 4);
          lin.forward(arena.put(x), s.m, y, ws);
          expectClose(arena.f32(y, s.m * s.n), want, 1e-5, `W${p}A16 ${s.k}`);
          arena.release(mark);
        }
      }
    });

    it(`${flavor}: rmsNorm, RoPE, GQA attention, SwiGLU, matmul, argmax match plain TypeScript`, () => {
      const rng = new Rng(11);
      const { kernels, arena } = envs[flavor];
      const x = kernels.exports;
      const mark = arena.used;
      // rmsNorm
      const dim = 70, m = 3;
      const a = rng.fillNormal(new Float32Array(m * dim));
      const nw = rng.fillNormal(new Float32Array(dim));
      const out = arena.alloc(m * dim * 4);
      x.rmsNorm(arena.put(a), arena.put(nw), out, m, dim, 1e-5);
      const want = new Float32Array(m * dim);
      for (let r = 0; r < m; r++) {
        let ss = 0;
        for (let i = 0; i < dim; i++) ss += a[r * dim + i] ** 2;
        const inv = 1 / Math.sqrt(ss / dim + 1e-5);
        for (let i = 0; i < dim; i++) want[r * dim + i] = a[r * dim + i] * inv * nw[i];
      }
      expectClose(arena.f32(out, m * dim), want, 1e-6, 'rmsNorm');
      // matmul + bias
      const k = 37, n = 9;
      const xm = rng.fillNormal(new Float32Array(m * k));
      const wm = rng.fillNormal(new Float32Array(n * k));
      const bias = rng.fillNormal(new Float32Array(n));
      const y = arena.alloc(m * n * 4);
      x.matmulF32(arena.put(xm), m, k, arena.put(wm), n, arena.put(bias), y);
      const wy = new Float32Array(m * n);
      for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) {
        let s = bias[c];
        for (let i = 0; i < k; i++) s += xm[r * k + i] * wm[c * k + i];
        wy[r * n + c] = s;
      }
      expectClose(arena.f32(y, m * n), wy, 1e-5, 'matmul');
      expect(x.argmax(y, n)).toBe(wy.subarray(0, n).indexOf(Math.max(...wy.subarray(0, n))));
      // SwiGLU
      const g = rng.fillNormal(new Float32Array(50)), u = rng.fillNormal(new Float32Array(50));
      const sw = arena.alloc(200);
      x.swiglu(arena.put(g), arena.put(u), sw, 50);
      expectClose(arena.f32(sw, 50), g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]), 1e-6, 'swiglu');
      // RoPE (rotate-half) then causal GQA attention over a cache of pos0 + M tokens
      const nH = 4, nKv = 2, hd = 8, pos0 = 5, mq = 3, T = pos0 + mq, half = hd / 2;
      const cos = new Float32Array(T * half), sin = new Float32Array(T * half);
      for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) {
        const ang = t / 10000 ** ((2 * i) / hd);
        cos[t * half + i] = Math.cos(ang);
        sin[t * half + i] = Math.sin(ang);
      }
      const q = rng.fillNormal(new Float32Array(mq * nH * hd));
      const qp = arena.put(q);
      x.ropeRotateHalf(qp, mq, nH * hd, nH, hd, arena.put(cos), arena.put(sin), pos0);
      const qr = q.slice();
      for (let r = 0; r < mq; r++) for (let h = 0; h < nH; h++) for (let i = 0; i < half; i++) {
        const o = r * nH * hd + h * hd, c = cos[(pos0 + r) * half + i], s = sin[(pos0 + r) * half + i];
        qr[o + i] = q[o + i] * c - q[o + i + half] * s;
        qr[o + i + half] = q[o + i + half] * c + q[o + i] * s;
      }
      expectClose(arena.f32(qp, q.length), qr, 1e-6, 'rope');
      const kc = rng.fillNormal(new Float32Array(T * nKv * hd)), vc = rng.fillNormal(new Float32Array(T * nKv * hd));
      const ao = arena.alloc(mq * nH * hd * 4);
      x.attention(qp, ao, mq, pos0, nH, nKv, hd, arena.put(kc), arena.put(vc), arena.alloc((T + hd) * 8));
      const wa = new Float32Array(mq * nH * hd);
      for (let r = 0; r < mq; r++) for (let h = 0; h < nH; h++) {
        const kv = Math.floor(h / (nH / nKv)), len = pos0 + r + 1, sc: number[] = [];
        for (let t = 0; t < len; t++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += qr[r * nH * hd + h * hd + i] * kc[t * nKv * hd + kv * hd + i];
          sc.push(s / Math.sqrt(hd));
        }
        const mx = Math.max(...sc), e = sc.map((v) => Math.exp(v - mx)), z = e.reduce((s, v) => s + v, 0);
        for (let t = 0; t < len; t++) for (let i = 0; i < hd; i++) wa[r * nH * hd + h * hd + i] += (e[t] / z) * vc[t * nKv * hd + kv * hd + i];
      }
      expectClose(arena.f32(ao, wa.length), wa, 1e-5, 'attention');
      arena.release(mark);
    });
  }
});

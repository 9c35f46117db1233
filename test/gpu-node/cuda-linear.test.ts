import { describe, expect, it } from 'vitest';
import { checkCudaLinear, CudaLinear } from '../../gpu-node/src/cuda-linear.ts';
import type { NativeAddon } from '../../gpu-node/src/native.ts';
import type { PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import { planeWords } from '../../shared/format/bitplanes.ts';

function weights(n: number, k: number, bits: number, groupSize: number): PackedWeights {
  const groups = Math.ceil(k / (groupSize <= 0 || groupSize >= k ? k : groupSize));
  return { n, k, bits, groupSize, planes: new Uint32Array(planeWords(bits, n, k)), scales: new Float32Array(n * groups), zeros: new Uint8Array(n * groups) };
}

describe('checkCudaLinear', () => {
  it('accepts per-channel and grouped layers', () => {
    expect(() => checkCudaLinear(weights(17, 300, 3, 0), { bits: 8, groupSize: 0 })).not.toThrow();
    expect(() => checkCudaLinear(weights(8, 4096, 4, 128), { bits: 16, groupSize: 0 })).not.toThrow();
  });

  it('names the op and shape when the planes do not match', () => {
    const w = { ...weights(8, 64, 4, 0), planes: new Uint32Array(3) };
    expect(() => checkCudaLinear(w, { bits: 8, groupSize: 0 })).toThrow(/CudaLinear\.create \[N=8 K=64 W4A8 group=0\]: planes has 3 words, expected 64/);
  });

  it('rejects bad bit widths and groups', () => {
    expect(() => checkCudaLinear(weights(8, 64, 4, 0), { bits: 9, groupSize: 0 })).toThrow(/activation bits must be 1..8 or 16/);
    expect(() => checkCudaLinear(weights(8, 96, 4, 48), { bits: 8, groupSize: 0 })).toThrow(/multiple of 32/);
    expect(() => checkCudaLinear(weights(8, 96, 4, 40), { bits: 16, groupSize: 0 })).toThrow(/multiple of 64/);
  });
});

describe('CudaLinear (with a recording fake addon)', () => {
  it('passes the spec through and checks forward shapes before calling the addon', async () => {
    const calls: string[] = [];
    const fake = {
      createLinear: async (spec: object) => { calls.push(`create ${JSON.stringify(spec)}`); return {}; },
      forward: async (_h: unknown, x: Uint16Array, m: number) => { calls.push(`forward ${x.length} ${m}`); return { y: new Uint16Array(m * 8), plan: 'fake' }; },
      dispose: () => calls.push('dispose'),
    } as unknown as NativeAddon;
    const layer = await CudaLinear.create(weights(8, 64, 4, 0), { bits: 8, groupSize: 0 }, fake);
    await expect(layer.forwardF16(new Uint16Array(10), 1)).rejects.toThrow(/CudaLinear\.forward \[M=1 N=8 K=64\]: x has 10 values, expected M x K = 64/);
    const y = await layer.forward(new Float32Array(128), 2);
    expect(y.length).toBe(16);
    layer.dispose();
    await expect(layer.forwardF16(new Uint16Array(64), 1)).rejects.toThrow(/disposed/);
    expect(calls).toEqual([
      'create {"n":8,"k":64,"wbits":4,"groupSize":0,"abits":8,"actGroup":0}',
      'forward 128 2',
      'dispose',
    ]);
  });
});

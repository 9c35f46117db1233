/**
 * gpu-node/src/engine-model.ts: which kernel path each reference layer takes in the CUDA engine, and
 * that host-dequantized weight-only layers carry exactly the reference's f32 weights.
 */
import { describe, expect, it } from 'vitest';
import { A16_PACKED_MIN_K, checkEngineConfig, engineLinear } from '../../gpu-node/src/engine-model.ts';
import { A16, PackedLinearRef, type PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import { dequantizeWeightsRef } from '../../shared/numerics/weight-quant.ts';
import { unpackBitPlanes } from '../../shared/format/bitplanes.ts';
import { DenseLinear } from '../../shared/model/linear.ts';
import { Rng } from '../../shared/util/rng.ts';
import type { LlamaConfig } from '../../shared/model/config.ts';

function packed(n: number, k: number, bits: number, groupSize: number, seed = 1): PackedWeights {
  const rng = new Rng(seed);
  const words = Math.ceil(k / 32), groups = Math.ceil(k / groupSize);
  return {
    n, k, bits, groupSize,
    planes: Uint32Array.from({ length: bits * n * words }, () => Math.floor(rng.next() * 2 ** 32) >>> 0),
    scales: Float32Array.from({ length: n * groups }, () => 0.01 + rng.next() * 0.01),
    zeros: Uint8Array.from({ length: n * groups }, () => Math.floor(rng.next() * (1 << bits))),
  };
}

describe('engineLinear', () => {
  it('sends quantized-activation layers to the BTC kernels as bit planes', () => {
    const w = packed(16, 64, 4, 32);
    const l = engineLinear(new PackedLinearRef(w, { bits: 8, groupSize: 0 }), 'q');
    expect(l).toMatchObject({ kind: 'packed', n: 16, k: 64, wbits: 4, abits: 8, groupSize: 32 });
    if (l.kind === 'packed') expect(l.planes).toBe(w.planes);
  });

  it('dequantizes small weight-only layers on the host to exactly the reference f32 weights', () => {
    const w = packed(8, 96, 4, 32);
    const l = engineLinear(new PackedLinearRef(w, { bits: A16, groupSize: 0 }), 'down');
    expect(l.kind).toBe('f32');
    const want = dequantizeWeightsRef({ n: 8, k: 96, bits: 4, groupSize: 32, codes: unpackBitPlanes(w.planes, 8, 96, 4), scales: w.scales, zeros: w.zeros });
    if (l.kind === 'f32') expect(Array.from(l.dense)).toEqual(Array.from(want));
  });

  it('keeps large weight-only layers with a group the fp16 kernels take packed', () => {
    const l = engineLinear(new PackedLinearRef(packed(4, A16_PACKED_MIN_K, 4, 128), { bits: A16, groupSize: 0 }), 'o');
    expect(l).toMatchObject({ kind: 'packed', abits: A16, groupSize: 128 });
    const odd = engineLinear(new PackedLinearRef(packed(4, A16_PACKED_MIN_K, 4, 32), { bits: A16, groupSize: 0 }), 'o');
    expect(odd.kind).toBe('f32');  // group 32 is not a multiple of the A16 kernels' 64-wide K unit
  });

  it('passes dense layers through and names the layer of anything else', () => {
    const d = new DenseLinear(new Float32Array(6), 2, 3);
    expect(engineLinear(d, 'lm_head')).toMatchObject({ kind: 'f32', n: 2, k: 3, dense: d.weight });
    const other = { inFeatures: 3, outFeatures: 2, forward: () => new Float32Array(6) };
    expect(() => engineLinear(other, 'layer 3 up')).toThrow(/layer 3 up: the CUDA engine takes packed or dense layers/);
  });
});

describe('checkEngineConfig', () => {
  const base = { headDim: 8, numHeads: 8, numKvHeads: 4 } as LlamaConfig;
  it('refuses what the engine does not implement, naming the value', () => {
    expect(() => checkEngineConfig(base)).not.toThrow();
    expect(() => checkEngineConfig({ ...base, slidingWindow: 4096 })).toThrow(/sliding_window 4096/);
    expect(() => checkEngineConfig({ ...base, headDim: 256 })).toThrow(/head_dim <= 128, got 256/);
    expect(() => checkEngineConfig({ ...base, numKvHeads: 3 })).toThrow(/not a multiple of num_key_value_heads 3/);
  });
});

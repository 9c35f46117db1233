/**
 * Small, real packed layers for tests: random f32 weights quantized with the reference RTN and packed
 * into bit planes, so every file a test writes is what the quantizer would write.
 */
import { Rng } from '../../../shared/util/rng.ts';
import { packBitPlanes } from '../../../shared/format/bitplanes.ts';
import { quantizeWeightsRef } from '../../../shared/numerics/weight-quant.ts';
import type { PackedWeights } from '../../../shared/numerics/packed-linear-ref.ts';
import type { PackedLayerSpec } from '../../../shared/format/layer-spec.ts';
import type { PackedModelData } from '../../../shared/format/packed-write.ts';

export function layerSpec(name: string, over: Partial<PackedLayerSpec> = {}): PackedLayerSpec {
  const wbits = over.wbits ?? 4;
  const inFeatures = over.inFeatures ?? 70;
  return {
    name, inFeatures, outFeatures: 5, wbits, levels: 2 ** wbits, groupSize: inFeatures, symmetric: false,
    abits: 8, actGroupSize: 0, method: 'rtn', hasBias: false, ...over,
  };
}

export function packedWeightsFor(spec: PackedLayerSpec, seed = 1): PackedWeights {
  const rng = new Rng(seed);
  const { outFeatures: n, inFeatures: k } = spec;
  const w = new Float32Array(n * k);
  for (let i = 0; i < w.length; i++) w[i] = rng.next() * 2 - 1;
  const q = quantizeWeightsRef(w, n, k, { bits: spec.wbits, groupSize: spec.groupSize, symmetric: spec.symmetric, levels: spec.levels });
  const weights: PackedWeights = { n, k, bits: spec.wbits, groupSize: q.groupSize, planes: packBitPlanes(q.codes, n, k, spec.wbits), scales: q.scales, zeros: q.zeros };
  if (spec.hasBias) weights.bias = new Float32Array(n).map(() => rng.next());
  return weights;
}

/** A small model: layers of several bit widths and ragged K, one F32 and one F16 float tensor. */
export function smallPackedModel(seed = 1): PackedModelData {
  const specs = [
    layerSpec('model.layers.0.self_attn.q_proj', { wbits: 4, inFeatures: 70, groupSize: 32, abits: 8, actGroupSize: 64 }),
    layerSpec('model.layers.0.mlp.down_proj', { wbits: 3, levels: 5, symmetric: true, inFeatures: 33, abits: 16, hasBias: true }),
    layerSpec('model.layers.0.mlp.up_proj', { wbits: 2, inFeatures: 64, groupSize: 32, abits: 4 }),
    layerSpec('model.layers.0.mlp.gate_proj', { wbits: 1, inFeatures: 31 }),
    layerSpec('model.layers.0.self_attn.o_proj', { wbits: 8, inFeatures: 96, groupSize: 64 }),
  ];
  const rng = new Rng(seed + 100);
  return {
    layers: specs.map((spec, i) => ({ spec, weights: packedWeightsFor(spec, seed + i) })),
    floats: [
      { name: 'model.norm.weight', dtype: 'F32', shape: [8], data: new Float32Array(8).map(() => rng.next()) },
      { name: 'model.embed_tokens.weight', dtype: 'F16', shape: [4, 8], data: new Float32Array(32).map(() => rng.next()) },
    ],
    source: { model: 'test/tiny', revision: '', dtype: 'F32' },
    config: { model_type: 'llama', hidden_size: 8 },
  };
}

/**
 * Builds a runnable LlamaModel from quantized layers, with each linear either the packed integer
 * layer (PackedLinearRef over the real bit planes) or its simulated twin (dequantized weights,
 * fake-quantized activations). The two are the "integer path" and the "simulated path" whose
 * perplexities must agree.
 */
import { LlamaModel } from '../model/llama.ts';
import { buildLlamaWeights } from '../model/weights.ts';
import type { LlamaConfig } from '../model/config.ts';
import type { Linear } from '../model/linear.ts';
import { FakeQuantLinear, packedLinear } from './quant-linear.ts';
import type { PackedWeights } from '../numerics/packed-linear-ref.ts';

export type QuantPath = 'integer' | 'simulated';

export interface LayerForModel { name: string; abits: number; actGroup: number; packed: PackedWeights }

/** The layers of a quantized model as buildQuantizedLlama takes them. */
export function layersForModel(layers: { name: string; spec: { abits: number; actGroup: number }; packed: PackedWeights }[]): LayerForModel[] {
  return layers.map((l) => ({ name: l.name, abits: l.spec.abits, actGroup: l.spec.actGroup, packed: l.packed }));
}

export function quantLinear(l: LayerForModel, path: QuantPath): Linear {
  return path === 'integer' ? packedLinear(l.packed, l.abits, l.actGroup) : new FakeQuantLinear(l.packed, l.abits, l.actGroup);
}

export function buildQuantizedLlama(config: LlamaConfig, layers: LayerForModel[], floats: (name: string) => Float32Array | undefined, path: QuantPath): LlamaModel {
  const byName = new Map(layers.map((l) => [l.name, l]));
  const weights = buildLlamaWeights(config, floats, {
    linear: (name) => {
      const l = byName.get(name);
      return l ? quantLinear(l, path) : undefined;
    },
  });
  return new LlamaModel(config, weights);
}

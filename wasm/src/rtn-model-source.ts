/**
 * Builds packed models in memory by round-to-nearest (shared/numerics quantizeWeightsRef +
 * packBitPlanes) from float tensors, plus the matching reference model (shared/model LlamaModel over
 * PackedLinearRef), for the engine's tests and benchmarks. The quantizer (shared/quant, scripts/)
 * makes the real packed files; this is the same arithmetic without calibration. Runtime-free.
 */
import { packBitPlanes } from '../../shared/format/bitplanes.ts';
import type { PackedLayerSpec } from '../../shared/format/layer-spec.ts';
import { parseLlamaConfig } from '../../shared/model/config.ts';
import { LlamaModel } from '../../shared/model/llama.ts';
import { buildLlamaWeights } from '../../shared/model/weights.ts';
import { PackedLinearRef, type PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import { quantizeWeightsRef } from '../../shared/numerics/weight-quant.ts';
import type { PackedModelSource, QuantizedLinearSource } from './model-source.ts';

export interface RtnSpec {
  wbits: number;
  /** 1..8, or 16 for weight-only. */
  abits: number;
  /** 0 = per channel (K). */
  groupSize: number;
}

/** HF module names of the quantized linears (every decoder linear; embeddings and lm_head stay float). */
export function decoderLinearNames(numLayers: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < numLayers; l++) {
    for (const a of ['q', 'k', 'v', 'o']) names.push(`model.layers.${l}.self_attn.${a}_proj`);
    for (const m of ['gate', 'up', 'down']) names.push(`model.layers.${l}.mlp.${m}_proj`);
  }
  return names;
}

export interface RtnModel {
  source: PackedModelSource;
  /** Layers as the format writer takes them. */
  layers: { spec: PackedLayerSpec; weights: PackedWeights }[];
  /** The reference integer path over the same packed weights. */
  reference: LlamaModel;
}

export function rtnModel(configJson: Record<string, unknown>, float: (name: string) => Float32Array | undefined, spec: RtnSpec): RtnModel {
  const config = parseLlamaConfig(configJson);
  const linears = new Map<string, QuantizedLinearSource>();
  const layers: RtnModel['layers'] = [];
  for (const name of decoderLinearNames(config.numLayers)) {
    const w = float(`${name}.weight`);
    if (!w) throw new Error(`missing tensor '${name}.weight'`);
    const k = name.endsWith('down_proj') ? config.intermediateSize : name.endsWith('o_proj') ? config.numHeads * config.headDim : config.hiddenSize;
    const n = w.length / k;
    const q = quantizeWeightsRef(w, n, k, { bits: spec.wbits, groupSize: spec.groupSize, symmetric: false });
    const weights: PackedWeights = { n, k, bits: spec.wbits, groupSize: q.groupSize, planes: packBitPlanes(q.codes, n, k, spec.wbits), scales: q.scales, zeros: q.zeros };
    linears.set(name, { weights, abits: spec.abits, actGroupSize: 0 });
    layers.push({
      spec: { name, inFeatures: k, outFeatures: n, wbits: spec.wbits, levels: 1 << spec.wbits, groupSize: q.groupSize, symmetric: false, abits: spec.abits, actGroupSize: 0, method: 'rtn', hasBias: false },
      weights,
    });
  }
  const source: PackedModelSource = { config: configJson, linear: (name) => linears.get(name), float: (name) => (linears.has(name.replace(/\.weight$/, '')) ? undefined : float(name)) };
  const reference = new LlamaModel(config, buildLlamaWeights(config, float, {
    linear: (name) => {
      const l = linears.get(name);
      return l && new PackedLinearRef(l.weights, { bits: l.abits, groupSize: l.actGroupSize }, { accumulate: 'codes' });
    },
  }));
  return { source, layers, reference };
}

/**
 * Assembles LlamaWeights from any source of tensors by their Hugging Face names, so the safetensors
 * loader, packed-model loaders and workers holding buffers all share one naming and shape check.
 */
import type { LlamaConfig } from './config.ts';
import { DenseLinear, type Linear } from './linear.ts';
import type { LayerWeights, LinearName, LlamaWeights } from './llama.ts';

/** Returns the f32 data of a tensor by HF name, or undefined when the source has no such tensor. */
export type TensorGetter = (name: string) => Float32Array | undefined;

export interface BuildWeightsOptions {
  /**
   * Supplies a Linear for an HF module name (e.g. `model.layers.0.mlp.down_proj`, `lm_head`) instead
   * of a DenseLinear over `<name>.weight`; return undefined to fall back to dense. Packed loaders use it.
   */
  linear?: (name: string, outFeatures: number, inFeatures: number) => Linear | undefined;
}

/** HF module name of each linear of layer l. */
export function linearModuleName(layer: number, name: LinearName): string {
  const attn = { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj' } as Record<string, string>;
  const mlp = { gate: 'gate_proj', up: 'up_proj', down: 'down_proj' } as Record<string, string>;
  return name in attn ? `model.layers.${layer}.self_attn.${attn[name]}` : `model.layers.${layer}.mlp.${mlp[name]}`;
}

export function buildLlamaWeights(config: LlamaConfig, getTensor: TensorGetter, options: BuildWeightsOptions = {}): LlamaWeights {
  const c = config;
  const tensor = (name: string, size: number): Float32Array => {
    const t = getTensor(name);
    if (!t) throw new Error(`missing tensor '${name}' (a ${c.modelType} checkpoint with this config.json needs it)`);
    if (t.length !== size) throw new Error(`tensor '${name}' has ${t.length} elements, the config requires ${size}`);
    return t;
  };
  const linear = (module: string, outF: number, inF: number, bias: boolean): Linear => {
    const custom = options.linear?.(module, outF, inF);
    if (custom) {
      if (custom.inFeatures !== inF || custom.outFeatures !== outF) {
        throw new Error(`linear '${module}' supplied by the loader is ${custom.outFeatures}x${custom.inFeatures}, expected ${outF}x${inF}`);
      }
      return custom;
    }
    const b = bias ? tensor(`${module}.bias`, outF) : undefined;
    if (!bias && getTensor(`${module}.bias`)) throw new Error(`tensor '${module}.bias' is present but the config has no bias for it (check attention_bias / model_type)`);
    return new DenseLinear(tensor(`${module}.weight`, outF * inF), outF, inF, b);
  };
  const d = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const m = (name: LinearName) => linearModuleName(l, name);
    layers.push({
      inputNorm: tensor(`${p}.input_layernorm.weight`, d),
      postNorm: tensor(`${p}.post_attention_layernorm.weight`, d),
      q: linear(m('q'), qDim, d, c.attentionBias),
      k: linear(m('k'), kvDim, d, c.attentionBias),
      v: linear(m('v'), kvDim, d, c.attentionBias),
      o: linear(m('o'), d, qDim, c.outputBias),
      gate: linear(m('gate'), c.intermediateSize, d, false),
      up: linear(m('up'), c.intermediateSize, d, false),
      down: linear(m('down'), d, c.intermediateSize, false),
    });
  }
  const embed = tensor('model.embed_tokens.weight', c.vocabSize * d);
  // Tied models use the embedding as lm_head, as transformers does, even when the file also ships an
  // lm_head.weight copy (stories260K does); untied ones must ship lm_head.weight.
  let lmHead = options.linear?.('lm_head', c.vocabSize, d);
  if (!lmHead) {
    lmHead = c.tieWordEmbeddings
      ? new DenseLinear(embed, c.vocabSize, d)
      : new DenseLinear(tensor('lm_head.weight', c.vocabSize * d), c.vocabSize, d);
  }
  return { embed, layers, norm: tensor('model.norm.weight', d), lmHead };
}

/** Shape of every tensor a dense checkpoint of this config holds (lm_head.weight only when untied), in HF order. */
export function llamaTensorShapes(config: LlamaConfig): Map<string, number[]> {
  const c = config;
  const d = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const dims: Record<LinearName, [number, number]> = {
    q: [qDim, d], k: [kvDim, d], v: [kvDim, d], o: [d, qDim],
    gate: [c.intermediateSize, d], up: [c.intermediateSize, d], down: [d, c.intermediateSize],
  };
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocabSize, d]]]);
  for (let l = 0; l < c.numLayers; l++) {
    shapes.set(`model.layers.${l}.input_layernorm.weight`, [d]);
    for (const n of ['q', 'k', 'v', 'o'] as const) {
      const module = linearModuleName(l, n);
      shapes.set(`${module}.weight`, dims[n]);
      if (n === 'o' ? c.outputBias : c.attentionBias) shapes.set(`${module}.bias`, [dims[n][0]]);
    }
    shapes.set(`model.layers.${l}.post_attention_layernorm.weight`, [d]);
    for (const n of ['gate', 'up', 'down'] as const) shapes.set(`${linearModuleName(l, n)}.weight`, dims[n]);
  }
  shapes.set('model.norm.weight', [d]);
  if (!c.tieWordEmbeddings) shapes.set('lm_head.weight', [c.vocabSize, d]);
  return shapes;
}

/** Every HF tensor name a dense checkpoint of this config holds (lm_head.weight only when untied). */
export function llamaTensorNames(config: LlamaConfig): string[] {
  return [...llamaTensorShapes(config).keys()];
}

/**
 * Loads a packed model folder as a runnable LlamaModel (Node): each quantized linear becomes a
 * PackedLinearRef over its bit planes ('integer', the default) or the simulated twin ('simulated');
 * norms and embeddings are the folded float tensors of the file.
 * @example const { model } = await loadPackedLlama('out/stories260K-w4a8');
 */
import { readPackedModel } from '../format/packed-dir.ts';
import { parseLlamaConfig, type LlamaConfig } from '../model/config.ts';
import type { LlamaModel } from '../model/llama.ts';
import { buildQuantizedLlama, type LayerForModel, type QuantPath } from './build-model.ts';

export async function loadPackedLlama(dir: string, path: QuantPath = 'integer'): Promise<{ config: LlamaConfig; model: LlamaModel }> {
  const pm = await readPackedModel(dir);
  const config = parseLlamaConfig(pm.config);
  const layers: LayerForModel[] = [...pm.layers.values()].map(({ spec, weights }) => ({
    name: spec.name, abits: spec.abits, actGroup: spec.actGroupSize === 0 ? spec.inFeatures : spec.actGroupSize, packed: weights,
  }));
  const model = buildQuantizedLlama(config, layers, (n) => (pm.hasFloat(n) ? pm.float(n) : undefined), path);
  return { config, model };
}

/**
 * The `abq` entry for shared/eval's loader table (quantization_config.quant_method 'abq'), so that
 * `abq-pack eval <packed dir>` runs the integer path.
 */
export async function loadPackedForEval(dir: string, rawConfig: Record<string, unknown>) {
  const { config, model } = await loadPackedLlama(dir, 'integer');
  const qc = rawConfig.quantization_config as { bits?: number; abits?: number; group_size?: number; method?: string } | undefined;
  const description = `abq W${qc?.bits}A${qc?.abits}${qc?.group_size && qc.group_size > 0 ? ` g${qc.group_size}` : ''} (${qc?.method}, integer reference path)`;
  return { dir, config, rawConfig, model, description };
}

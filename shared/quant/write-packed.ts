/**
 * Writes a QuantizedModel as a packed model folder (format v1, via the format's PackedModelWriter):
 * model.safetensors with real bit planes, config.json with quantization_config, the tokenizer files
 * of the source folder, and a model card (README.md) with the configuration and measured figures.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { PackedModelWriter, type ExtraFile, type FloatTensorSpec } from '../format/packed-write.ts';
import type { PackedLayerSpec } from '../format/layer-spec.ts';
import type { QuantizedModel } from './pipeline.ts';
import { modelCard, type CardFigures } from './model-card.ts';

export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'tokenizer.model'];

export function packedLayerSpecs(qm: QuantizedModel): PackedLayerSpec[] {
  return qm.layers.map((l) => ({
    name: l.name, inFeatures: l.packed.k, outFeatures: l.packed.n, wbits: l.spec.wbits, levels: l.spec.levels, groupSize: l.spec.groupSize,
    symmetric: l.spec.symmetric, abits: l.spec.abits, actGroupSize: l.spec.actGroup, method: qm.method.name, hasBias: !!l.packed.bias,
  }));
}

/** Bytes the packed folder's weights take (bit planes, F16 scales, U8 zeros, biases, float tensors). */
export function packedSizeBytes(qm: QuantizedModel, floatBytes = floatDtype(qm.source.dtype('model.embed_tokens.weight')) === 'F32' ? 4 : 2): number {
  let s = 0;
  for (const l of qm.layers) s += l.packed.planes.byteLength + l.packed.scales.length * 2 + l.packed.zeros.byteLength + (l.packed.bias?.byteLength ?? 0);
  for (const f of qm.floats.values()) s += f.length * floatBytes;
  return s;
}

function floatDtype(d: string): 'F32' | 'F16' | 'BF16' {
  return d === 'F16' || d === 'BF16' ? d : 'F32';
}

export async function writeQuantizedModel(dir: string, qm: QuantizedModel, figures: CardFigures = {}): Promise<void> {
  const src = qm.source;
  // Float tensors keep the source's dtype (F16/BF16 checkpoints stay 16-bit).
  const dtype = floatDtype(src.dtype('model.embed_tokens.weight'));
  const floats: FloatTensorSpec[] = [...qm.floats.entries()].map(([name, data]) => ({ name, dtype, shape: name.endsWith('embed_tokens.weight') || name === 'lm_head.weight' ? [data.length / src.config.hiddenSize, src.config.hiddenSize] : [data.length] }));
  const extraFiles: ExtraFile[] = [];
  for (const f of TOKENIZER_FILES) {
    const from = path.join(src.dir, f);
    if (await access(from).then(() => true, () => false)) extraFiles.push({ name: f, from });
  }
  const layers = packedLayerSpecs(qm);
  extraFiles.push({ name: 'README.md', data: modelCard(qm, layers, figures) });
  const w = await PackedModelWriter.create(dir, {
    layers, floats, config: src.rawConfig, extraFiles,
    source: { model: path.basename(path.resolve(src.dir)), revision: '', dtype: src.dtype('model.embed_tokens.weight') },
  });
  try {
    for (const l of qm.layers) await w.addLayer(l.name, l.packed);
    for (const [name, data] of qm.floats) await w.addTensor(name, data);
    await w.finish();
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/** Size of the packed output of a configuration, computed from the config alone (`--dry-run`). */
import type { LlamaConfig } from '../model/config.ts';
import { linearModuleName } from '../model/weights.ts';
import { wordsPerRow } from '../format/bitplanes.ts';
import { LINEAR_NAMES, layerSpec, type QuantSettings } from './quant-config.ts';
import type { LinearName } from '../model/llama.ts';

export interface SizeEstimate { packedBytes: number; floatBytes: number; sourceF16Bytes: number; layers: number }

export function estimatePackedSize(c: LlamaConfig, settings: QuantSettings, floatBytes = 4): SizeEstimate {
  const d = c.hiddenSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
  const shape: Record<LinearName, [number, number]> = { q: [qd, d], k: [kvd, d], v: [kvd, d], o: [d, qd], gate: [c.intermediateSize, d], up: [c.intermediateSize, d], down: [d, c.intermediateSize] };
  let packed = 0, params = 0, layers = 0;
  for (let l = 0; l < c.numLayers; l++) {
    for (const n of LINEAR_NAMES) {
      const [rows, k] = shape[n];
      const s = layerSpec(settings, linearModuleName(l, n), k);
      const groups = Math.ceil(k / s.groupSize);
      packed += s.wbits * rows * wordsPerRow(k) * 4 + rows * groups * 3;
      params += rows * k;
      layers++;
    }
  }
  const floats = (c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2) + d * (2 * c.numLayers + 1)) * floatBytes;
  params += c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2) + d * (2 * c.numLayers + 1);
  return { packedBytes: packed, floatBytes: floats, sourceF16Bytes: params * 2, layers };
}

/**
 * Node-only: loads whatever model folder `abq-pack eval` / `generate` are given. A plain Hugging Face
 * folder (no `quantization_config` in config.json) goes to shared/model/load.ts; a quantized one is
 * dispatched on `quantization_config.quant_method` (or `.format`) to a loader registered for that
 * method. Packed-model runtimes plug in with registerModelLoader() (see model-loaders.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LlamaConfig } from '../model/config.ts';
import { loadLlamaModel } from '../model/load.ts';
import type { LogitsModel } from './logits-model.ts';
import { findModelLoader, registeredModelLoaders } from './model-loaders.ts';

export interface LoadedModel {
  dir: string;
  config: LlamaConfig;
  rawConfig: Record<string, unknown>;
  /** Each runtime has its own cache type; callers only pass back what newCache() gave them. */
  model: LogitsModel;
  /** One line for logs: 'float (F32 reference)' or the quantization, e.g. 'abq W4A8 g128'. */
  description: string;
}

/** A loader for one quantization method; rawConfig is the parsed config.json. */
export type ModelLoader = (dir: string, rawConfig: Record<string, unknown>) => Promise<LoadedModel>;

export async function loadAnyModel(dir: string): Promise<LoadedModel> {
  const configFile = path.join(dir, 'config.json');
  let rawConfig: Record<string, unknown>;
  try {
    rawConfig = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read ${configFile} (is ${dir} a model folder?): ${(err as Error).message}`);
  }
  const qc = rawConfig.quantization_config as Record<string, unknown> | undefined;
  if (qc === undefined || qc === null) {
    const { config, model } = await loadLlamaModel(dir);
    return { dir, config, rawConfig, model, description: 'float (f32 reference forward)' };
  }
  const method = String(qc.quant_method ?? qc.format ?? '');
  const loader = await findModelLoader(method);
  if (!loader) {
    const known = registeredModelLoaders();
    throw new Error(
      `${configFile}: quantization_config names method '${method}', and no loader is registered for it ` +
        `(registered: ${known.length ? known.join(', ') : 'none'}); register one with registerModelLoader() in shared/eval/model-loaders.ts`,
    );
  }
  return loader(dir, rawConfig);
}

/** The evaluation length when none is given: the model's context, capped (long contexts are slow in the reference). */
export const DEFAULT_SEQLEN_CAP = 2048;

export function defaultSeqlen(config: Pick<LlamaConfig, 'maxPositionEmbeddings'>): number {
  return Math.min(config.maxPositionEmbeddings, DEFAULT_SEQLEN_CAP);
}

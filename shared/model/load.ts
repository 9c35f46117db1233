/**
 * Loads a Hugging Face LLaMA-family folder (Node only): config.json plus model.safetensors, or the
 * shards listed by model.safetensors.index.json. Weights may be F32, F16 or BF16; all become f32.
 * @example const { model } = await loadLlamaModel('models/stories260K');
 */
import { readFile, access } from 'node:fs/promises';
import path from 'node:path';
import { openSafetensorsFile, type SafetensorsFile } from '../format/safetensors-file.ts';
import { parseLlamaConfig, type LlamaConfig } from './config.ts';
import { LlamaModel, type LlamaWeights } from './llama.ts';
import { buildLlamaWeights, llamaTensorShapes, type BuildWeightsOptions } from './weights.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
const FLOAT_DTYPES = ['F32', 'F16', 'BF16'];

export interface LoadedLlama {
  config: LlamaConfig;
  /** The parsed config.json as it is (e.g. for quantization_config or model cards). */
  rawConfig: Record<string, unknown>;
  model: LlamaModel;
  weights: LlamaWeights;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Maps each tensor name to its shard file: the index's weight_map for sharded checkpoints, or the
 * single model.safetensors.
 */
export async function listSafetensorsShards(dir: string): Promise<{ files: string[]; weightMap?: Map<string, string> }> {
  const index = path.join(dir, INDEX_FILE);
  if (await exists(index)) {
    const json = await readJson(index);
    const map = json.weight_map;
    if (typeof map !== 'object' || map === null) throw new Error(`${index} has no weight_map object`);
    const weightMap = new Map<string, string>();
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      if (typeof file !== 'string' || file.includes('/') || file.includes('\\') || file.startsWith('.')) {
        throw new Error(`${index}: weight_map['${name}'] must be a file name in the same folder, got ${JSON.stringify(file)}`);
      }
      weightMap.set(name, file);
    }
    return { files: [...new Set(weightMap.values())], weightMap };
  }
  if (await exists(path.join(dir, SINGLE_FILE))) return { files: [SINGLE_FILE] };
  throw new Error(`${dir} holds neither ${SINGLE_FILE} nor ${INDEX_FILE} (is it a Hugging Face model folder? PyTorch .bin checkpoints must be converted to safetensors first)`);
}

/** Reads every tensor of the model as f32, checking dtype and shape against the config. */
async function readTensors(dir: string, config: LlamaConfig): Promise<Map<string, Float32Array>> {
  const expected = llamaTensorShapes(config);
  const { files, weightMap } = await listSafetensorsShards(dir);
  const tensors = new Map<string, Float32Array>();
  for (const file of files) {
    const st: SafetensorsFile = await openSafetensorsFile(path.join(dir, file));
    try {
      for (const name of st.names()) {
        if (weightMap && weightMap.get(name) !== file) continue;
        const want = expected.get(name);
        // lm_head.weight of a tied model is a copy transformers ignores; other extras (e.g. an old
        // rotary_emb.inv_freq buffer) are not weights of the model.
        if (!want) continue;
        const info = st.info(name);
        if (!FLOAT_DTYPES.includes(info.dtype)) throw new Error(`${file}: tensor '${name}' is ${info.dtype}; expected F32, F16 or BF16`);
        if (info.shape.join(',') !== want.join(',')) {
          throw new Error(`${file}: tensor '${name}' has shape [${info.shape.join(', ')}], the config requires [${want.join(', ')}]`);
        }
        tensors.set(name, await st.readF32(name));
      }
    } finally {
      await st.close();
    }
  }
  return tensors;
}

/** Loads config and weights of an HF folder and builds the reference model. */
export async function loadLlamaModel(dir: string, options: BuildWeightsOptions = {}): Promise<LoadedLlama> {
  const rawConfig = await readJson(path.join(dir, 'config.json'));
  const config = parseLlamaConfig(rawConfig);
  const genFile = path.join(dir, 'generation_config.json');
  if (await exists(genFile)) {
    // Chat models list extra stop ids (e.g. <|eot_id|>) only in generation_config.json.
    const gen = await readJson(genFile);
    const ids = Array.isArray(gen.eos_token_id) ? gen.eos_token_id : [gen.eos_token_id];
    for (const id of ids) if (Number.isInteger(id) && !config.eosTokenIds.includes(id as number)) config.eosTokenIds.push(id as number);
  }
  const tensors = await readTensors(dir, config);
  const weights = buildLlamaWeights(config, (name) => tensors.get(name), options);
  return { config, rawConfig, model: new LlamaModel(config, weights), weights };
}

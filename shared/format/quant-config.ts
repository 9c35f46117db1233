/**
 * The `quantization_config` entry of a packed model's config.json (the place HF tools look for how a
 * checkpoint is quantized). It summarizes abq.layers: the most common layer setting as the defaults,
 * and every layer that differs under `overrides`. The safetensors metadata stays the source of truth;
 * readers check that the two agree (INVALID_QUANT_CONFIG). Runtime-free.
 *
 *   "quantization_config": {
 *     "quant_method": "abq", "format_version": 1,
 *     "bits": 4, "levels": 16, "group_size": 128, "sym": false,   // weights; group_size -1 = per channel
 *     "abits": 8, "act_group_size": 0,                            // abits 16 = weight-only; 0 = per token
 *     "method": "omniquant",
 *     "num_quantized_layers": 154,
 *     "overrides": { "model.layers.0.mlp.down_proj": { "bits": 8, "levels": 256 } }
 *   }
 */
import { AbqFormatError } from './errors.ts';
import { FORMAT_NAME, FORMAT_VERSION, SUPPORTED_FORMAT_VERSIONS } from './metadata.ts';
import type { PackedLayerSpec } from './layer-spec.ts';

/** group_size value meaning "one group per row" (GPTQ's convention), since K differs between layers. */
export const PER_CHANNEL_GROUP = -1;
/** act_group_size value meaning "one group per token". */
export const PER_TOKEN_GROUP = 0;

/** The per-layer settings a quantization_config can express. */
export interface LayerQuantSettings {
  bits: number;
  levels: number;
  group_size: number;
  sym: boolean;
  abits: number;
  act_group_size: number;
  method: string;
}

export interface QuantizationConfig extends LayerQuantSettings {
  quant_method: typeof FORMAT_NAME;
  format_version: number;
  num_quantized_layers: number;
  overrides: Record<string, Partial<LayerQuantSettings>>;
}

const SETTING_KEYS: readonly (keyof LayerQuantSettings)[] = ['bits', 'levels', 'group_size', 'sym', 'abits', 'act_group_size', 'method'];

/** A layer's settings in quantization_config terms (per-channel and per-token normalized). */
export function layerQuantSettings(spec: PackedLayerSpec): LayerQuantSettings {
  return {
    bits: spec.wbits,
    levels: spec.levels,
    group_size: spec.groupSize === spec.inFeatures ? PER_CHANNEL_GROUP : spec.groupSize,
    sym: spec.symmetric,
    abits: spec.abits,
    act_group_size: spec.actGroupSize === spec.inFeatures ? PER_TOKEN_GROUP : spec.actGroupSize,
    method: spec.method,
  };
}

/** Builds quantization_config from the layer specs (defaults = the most common setting, first seen wins ties). */
export function buildQuantizationConfig(specs: readonly PackedLayerSpec[]): QuantizationConfig {
  const settings = specs.map(layerQuantSettings);
  const counts = new Map<string, { count: number; s: LayerQuantSettings }>();
  for (const s of settings) {
    const key = JSON.stringify(s);
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { count: 1, s });
  }
  let defaults: LayerQuantSettings | undefined;
  let best = 0;
  for (const { count, s } of counts.values()) if (count > best) { best = count; defaults = s; }
  // A model with no quantized layer still gets a well-formed entry; it then describes nothing.
  defaults ??= { bits: 16, levels: 0, group_size: PER_CHANNEL_GROUP, sym: false, abits: 16, act_group_size: PER_TOKEN_GROUP, method: 'none' };
  const overrides: Record<string, Partial<LayerQuantSettings>> = {};
  specs.forEach((spec, i) => {
    const diff: Partial<LayerQuantSettings> = {};
    for (const key of SETTING_KEYS) if (settings[i][key] !== defaults![key]) (diff as Record<string, unknown>)[key] = settings[i][key];
    if (Object.keys(diff).length > 0) overrides[spec.name] = diff;
  });
  return { quant_method: FORMAT_NAME, format_version: FORMAT_VERSION, ...defaults, num_quantized_layers: specs.length, overrides };
}

/** Reads and type-checks a quantization_config value (from config.json). */
export function readQuantizationConfig(value: unknown): QuantizationConfig {
  const bad = (why: string) => new AbqFormatError('INVALID_QUANT_CONFIG', `config.json quantization_config ${why}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('is missing or not an object');
  const q = value as Record<string, unknown>;
  if (q.quant_method !== FORMAT_NAME) throw bad(`has quant_method ${JSON.stringify(q.quant_method)}, expected "${FORMAT_NAME}"`);
  if (typeof q.format_version !== 'number' || !SUPPORTED_FORMAT_VERSIONS.includes(q.format_version)) {
    throw new AbqFormatError('UNSUPPORTED_VERSION', `config.json quantization_config.format_version ${JSON.stringify(q.format_version)} is not supported (this reader supports ${SUPPORTED_FORMAT_VERSIONS.join(', ')})`);
  }
  checkSettings(q, SETTING_KEYS, 'has');
  if (!Number.isSafeInteger(q.num_quantized_layers)) throw bad('num_quantized_layers must be an integer');
  const overrides = q.overrides;
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) throw bad('overrides must be an object');
  for (const [name, o] of Object.entries(overrides)) {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) throw bad(`overrides["${name}"] must be an object`);
    for (const key of Object.keys(o)) if (!(SETTING_KEYS as string[]).includes(key)) throw bad(`overrides["${name}"] has unknown key "${key}"`);
    checkSettings(o as Record<string, unknown>, Object.keys(o) as (keyof LayerQuantSettings)[], `overrides["${name}"] has`);
  }
  return q as unknown as QuantizationConfig;
}

/** Settings of one layer according to a quantization_config (defaults plus its override). */
export function settingsForLayer(qc: QuantizationConfig, name: string): LayerQuantSettings {
  const base: LayerQuantSettings = { bits: qc.bits, levels: qc.levels, group_size: qc.group_size, sym: qc.sym, abits: qc.abits, act_group_size: qc.act_group_size, method: qc.method };
  return { ...base, ...(Object.hasOwn(qc.overrides, name) ? qc.overrides[name] : {}) };
}

/** Throws INVALID_QUANT_CONFIG (naming the layer) unless the config describes exactly these specs. */
export function checkQuantizationConfig(qc: QuantizationConfig, specs: readonly PackedLayerSpec[]): void {
  if (qc.num_quantized_layers !== specs.length) {
    throw new AbqFormatError('INVALID_QUANT_CONFIG', `quantization_config.num_quantized_layers is ${qc.num_quantized_layers} but abq.layers has ${specs.length}`);
  }
  const names = new Set(specs.map((s) => s.name));
  for (const name of Object.keys(qc.overrides)) {
    if (!names.has(name)) throw new AbqFormatError('INVALID_QUANT_CONFIG', 'quantization_config.overrides names a layer that abq.layers does not hold', name);
  }
  for (const spec of specs) {
    const want = layerQuantSettings(spec);
    const got = settingsForLayer(qc, spec.name);
    for (const key of SETTING_KEYS) {
      if (got[key] !== want[key]) {
        throw new AbqFormatError('INVALID_QUANT_CONFIG', `quantization_config says ${key} = ${JSON.stringify(got[key])} but abq.layers says ${JSON.stringify(want[key])}`, spec.name);
      }
    }
  }
}

function checkSettings(q: Record<string, unknown>, keys: readonly (keyof LayerQuantSettings)[], where: string): void {
  for (const key of keys) {
    const v = q[key];
    const ok = key === 'sym' ? typeof v === 'boolean' : key === 'method' ? typeof v === 'string' : Number.isSafeInteger(v);
    if (!ok) throw new AbqFormatError('INVALID_QUANT_CONFIG', `config.json quantization_config ${where} ${key} = ${JSON.stringify(v)}, of the wrong type`);
  }
}

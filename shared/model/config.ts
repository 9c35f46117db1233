/**
 * Parses a Hugging Face `config.json` of the LLaMA family (LLaMA 1/2/3, Mistral, Qwen2) into the
 * typed config every other part uses. Anything this engine cannot run exactly (another architecture,
 * activation, RoPE variant or bias layout) is refused here, with the field named, so that no later
 * stage silently computes a different model.
 */

export type ModelType = 'llama' | 'mistral' | 'qwen2';

const SUPPORTED_MODEL_TYPES: readonly ModelType[] = ['llama', 'mistral', 'qwen2'];
/** Activations accepted for the gate of the MLP (HF spells SiLU both ways). */
const SUPPORTED_ACTS = ['silu', 'swish'];
const DEFAULT_RMS_EPS = 1e-6;
const DEFAULT_ROPE_THETA = 10000;
const DEFAULT_MAX_POSITIONS = 2048;

/** RoPE frequency scaling, as HF's `rope_scaling` (only the variants implemented by rope.ts). */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

export interface LlamaConfig {
  modelType: ModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads; < numHeads means grouped-query attention. */
  numKvHeads: number;
  /** Per-head width; q_proj has numHeads*headDim outputs (not always hiddenSize). */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling?: RopeScaling;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (always for Qwen2; LLaMA's `attention_bias`, which also biases o_proj). */
  attentionBias: boolean;
  /** o_proj carries a bias (LLaMA with attention_bias true; never Qwen2 or Mistral). */
  outputBias: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
  /** Mistral: each token attends to at most this many positions (itself included). */
  slidingWindow?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Json = Record<string, unknown>;

function fail(field: string, msg: string): never {
  throw new ConfigError(`config.json: ${field} ${msg}`);
}

function posInt(c: Json, key: string, fallback?: number, prefix = ''): number {
  const field = prefix + key;
  const v = c[key] ?? fallback;
  if (v === undefined || v === null) fail(field, 'is missing (a positive integer is required)');
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function posNum(c: Json, key: string, fallback?: number, prefix = ''): number {
  const field = prefix + key;
  const v = c[key] ?? fallback;
  if (v === undefined) fail(field, 'is missing (a positive number is required)');
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(field, `must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(c: Json, field: string, fallback: boolean): boolean {
  const v = c[field] ?? fallback;
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function optTokenId(c: Json, field: string): number | undefined {
  const v = c[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(field, `must be a token id, got ${JSON.stringify(v)}`);
  return v;
}

function eosIds(c: Json): number[] {
  const v = c.eos_token_id;
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) fail('eos_token_id', `must be a token id or a list of them, got ${JSON.stringify(v)}`);
  }
  return list as number[];
}

function parseRopeScaling(raw: unknown): RopeScaling | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object') fail('rope_scaling', `must be an object or null, got ${JSON.stringify(raw)}`);
  const r = raw as Json;
  const P = 'rope_scaling.';
  const type = r.rope_type ?? r.type;
  if (type === 'default' || type === undefined) return undefined;
  if (type === 'linear') return { type, factor: posNum(r, 'factor', undefined, P) };
  if (type === 'llama3') {
    const s: RopeScaling = {
      type,
      factor: posNum(r, 'factor', undefined, P),
      lowFreqFactor: posNum(r, 'low_freq_factor', undefined, P),
      highFreqFactor: posNum(r, 'high_freq_factor', undefined, P),
      originalMaxPositionEmbeddings: posInt(r, 'original_max_position_embeddings', undefined, P),
    };
    if (s.highFreqFactor <= s.lowFreqFactor) {
      fail('rope_scaling.high_freq_factor', `must exceed low_freq_factor (${s.lowFreqFactor}), got ${s.highFreqFactor}`);
    }
    return s;
  }
  fail('rope_scaling.type', `'${String(type)}' is not supported (supported: default, linear, llama3)`);
}

/**
 * Reads an HF config object (the parsed `config.json`). Also accepts transformers v5's
 * `rope_parameters` in place of `rope_theta` + `rope_scaling`.
 * @example parseLlamaConfig(JSON.parse(readFileSync('config.json', 'utf8')))
 */
export function parseLlamaConfig(json: unknown): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError('config.json must hold a JSON object');
  const c = json as Json;
  const modelType = c.model_type;
  if (typeof modelType !== 'string') fail('model_type', 'is missing (expected one of llama, mistral, qwen2)');
  if (!SUPPORTED_MODEL_TYPES.includes(modelType as ModelType)) {
    fail('model_type', `'${modelType}' is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
  const type = modelType as ModelType;
  const act = c.hidden_act ?? c.hidden_activation ?? 'silu';
  if (typeof act !== 'string' || !SUPPORTED_ACTS.includes(act)) fail('hidden_act', `'${String(act)}' is not supported (only silu, the SwiGLU MLP)`);
  if (c.mlp_bias === true) fail('mlp_bias', 'true is not supported (MLP projections without bias only)');
  const ropeParams = (c.rope_parameters ?? undefined) as Json | undefined;
  if (ropeParams !== undefined && (typeof ropeParams !== 'object' || ropeParams === null)) fail('rope_parameters', 'must be an object');
  const partial = ropeParams?.partial_rotary_factor ?? c.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) fail('partial_rotary_factor', `${JSON.stringify(partial)} is not supported (full rotary only)`);

  const hiddenSize = posInt(c, 'hidden_size');
  const numHeads = posInt(c, 'num_attention_heads');
  const numKvHeads = posInt(c, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) fail('num_key_value_heads', `(${numKvHeads}) must divide num_attention_heads (${numHeads})`);
  if (c.head_dim === undefined || c.head_dim === null) {
    if (hiddenSize % numHeads !== 0) fail('head_dim', `is missing and hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads})`);
  }
  const headDim = posInt(c, 'head_dim', hiddenSize / numHeads);
  if (headDim % 2 !== 0) fail('head_dim', `must be even for rotate-half RoPE, got ${headDim}`);

  const llamaBias = type === 'llama' ? bool(c, 'attention_bias', false) : false;
  let slidingWindow: number | undefined;
  if (type === 'mistral' && c.sliding_window !== undefined && c.sliding_window !== null) slidingWindow = posInt(c, 'sliding_window');
  if (type === 'qwen2' && c.use_sliding_window === true) {
    fail('use_sliding_window', 'true is not supported for qwen2 (its per-layer max_window_layers rule is not implemented)');
  }

  return {
    modelType: type,
    vocabSize: posInt(c, 'vocab_size'),
    hiddenSize,
    intermediateSize: posInt(c, 'intermediate_size'),
    numLayers: posInt(c, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: posNum(c, 'rms_norm_eps', DEFAULT_RMS_EPS),
    ropeTheta: ropeParams ? posNum(ropeParams, 'rope_theta', DEFAULT_ROPE_THETA) : posNum(c, 'rope_theta', DEFAULT_ROPE_THETA),
    ropeScaling: parseRopeScaling(ropeParams ?? c.rope_scaling),
    maxPositionEmbeddings: posInt(c, 'max_position_embeddings', DEFAULT_MAX_POSITIONS),
    // transformers' LlamaConfig, MistralConfig and Qwen2Config all default to untied.
    tieWordEmbeddings: bool(c, 'tie_word_embeddings', false),
    attentionBias: type === 'qwen2' || llamaBias,
    outputBias: llamaBias,
    bosTokenId: optTokenId(c, 'bos_token_id'),
    eosTokenIds: eosIds(c),
    ...(slidingWindow !== undefined ? { slidingWindow } : {}),
  };
}

/**
 * Builds the edge app from Worker bindings (used by edge/worker.ts, whose module may export only
 * handlers). Same app as edge/node.ts; only model loading differs.
 * Model files (config.json, tokenizer.json, tokenizer_config.json, model.safetensors of one model
 * folder) come from, in order:
 *   1. an R2 bucket bound as MODELS (keys `<ABQ_MODEL_PATH>/<file>`): production, any size;
 *   2. static assets bound as ASSETS (`/<ABQ_MODEL_PATH>/<file>`): small models shipped with the Worker;
 *   3. blob bindings MODEL_CONFIG / MODEL_TOKENIZER / MODEL_TOKENIZER_CONFIG (text) and
 *      MODEL_SAFETENSORS (data): local dev and tests.
 * The WASM kernels are imported as compiled modules (workerd cannot compile WASM from bytes at run
 * time). The app is built once per isolate, on the first request.
 */
import kernelsSimd from '../wasm/build/kernels-simd.wasm';
import kernelsScalar from '../wasm/build/kernels-scalar.wasm';
import { createEdgeApp, type EdgeApp } from './app.ts';
import { parseEdgeConfig } from './config.ts';
import { edgeTokenizerFromSources } from './tokenizer.ts';
import { createWasmBackend } from './backends/wasm-backend.ts';
import { wasmSourceFromBuffers } from './backends/wasm-source.ts';
import { ApiError } from './errors.ts';

export const DEFAULT_MODEL_ID = 'stories260K';
export const DEFAULT_MODEL_PATH = 'stories260K-w4a8';

interface R2ObjectLike {
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface WorkerEnv {
  [key: string]: unknown;
  ABQ_MODEL_ID?: string;
  ABQ_MODEL_PATH?: string;
  /** "false" turns the edge's own WASM engine off (GPU nodes only). */
  ABQ_WASM_FALLBACK?: string;
  MODELS?: { get(key: string): Promise<R2ObjectLike | null> };
  ASSETS?: { fetch(input: string | Request): Promise<Response> };
  MODEL_CONFIG?: string;
  MODEL_TOKENIZER?: string;
  MODEL_TOKENIZER_CONFIG?: string;
  MODEL_SAFETENSORS?: ArrayBuffer;
}

const BLOB_BINDING: Record<string, keyof WorkerEnv> = {
  'config.json': 'MODEL_CONFIG',
  'tokenizer.json': 'MODEL_TOKENIZER',
  'tokenizer_config.json': 'MODEL_TOKENIZER_CONFIG',
  'model.safetensors': 'MODEL_SAFETENSORS',
};

async function modelFile(env: WorkerEnv, name: string, as: 'text' | 'bytes', optional = false): Promise<string | Uint8Array | undefined> {
  const folder = env.ABQ_MODEL_PATH ?? DEFAULT_MODEL_PATH;
  if (env.MODELS) {
    const obj = await env.MODELS.get(`${folder}/${name}`);
    if (obj) return as === 'text' ? obj.text() : new Uint8Array(await obj.arrayBuffer());
  } else if (env.ASSETS) {
    const res = await env.ASSETS.fetch(`https://assets.local/${folder}/${name}`);
    if (res.ok) return as === 'text' ? res.text() : new Uint8Array(await res.arrayBuffer());
  } else {
    const blob = env[BLOB_BINDING[name]];
    if (blob !== undefined) return as === 'text' ? String(blob) : new Uint8Array(blob as ArrayBuffer);
  }
  if (optional) return undefined;
  throw new ApiError(`model file ${folder}/${name} not found: bind an R2 bucket as MODELS, static assets as ASSETS, or the ${BLOB_BINDING[name]} blob (see wrangler.toml)`, {
    type: 'unavailable_error',
    code: 'model_files_missing',
  });
}

export async function buildWorkerEdge(env: WorkerEnv): Promise<EdgeApp> {
  const config = parseEdgeConfig(env);
  const modelId = env.ABQ_MODEL_ID ?? DEFAULT_MODEL_ID;
  const [configJson, tokenizerJson, tokenizerConfig] = await Promise.all([
    modelFile(env, 'config.json', 'text') as Promise<string>,
    modelFile(env, 'tokenizer.json', 'text') as Promise<string>,
    modelFile(env, 'tokenizer_config.json', 'text', true) as Promise<string | undefined>,
  ]);
  const hf = JSON.parse(configJson) as { max_position_embeddings?: number; eos_token_id?: number | number[] };
  const tokenizer = edgeTokenizerFromSources({ tokenizerJson, tokenizerConfig, extraEosIds: hf.eos_token_id });
  const localBackends = [];
  if (env.ABQ_WASM_FALLBACK !== 'false') {
    const weights = (await modelFile(env, 'model.safetensors', 'bytes')) as Uint8Array;
    const source = await wasmSourceFromBuffers(configJson, weights);
    localBackends.push(createWasmBackend({ modelId, source, kernels: { simd: kernelsSimd, scalar: kernelsScalar }, maxEngines: 1 }));
  }
  return createEdgeApp({
    config,
    models: [{ id: modelId, tokenizer, contextLength: hf.max_position_embeddings ?? 2048, created: Math.floor(Date.now() / 1000) }],
    localBackends,
    healthChecks: 'per-request',
  });
}


/**
 * Builds the node's backend from `--backend`; every one is a ScheduledBackend (continuous batching
 * over a BatchEngine, gpu-node/engine/scheduler.ts):
 *   reference  the f32 reference forward over an HF folder (shared/model), the oracle;
 *   wasm       the WASM SIMD engine (wasm/) over a packed model folder;
 *   cuda       the native engine: gpu-node/src/engine.ts's createCudaBackend(dir, id, options).
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createScheduledBackend, type ScheduledBackend } from '../engine/scheduler.ts';
import { createStepModelEngine, DEFAULT_MAX_SEQS } from '../engine/step-model-engine.ts';

export type BackendName = 'wasm' | 'reference' | 'cuda';
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'reference', 'cuda'];

/** Engine and scheduler sizes from main.ts's flags; unset ones take each engine's defaults. */
export interface EngineLoadOptions {
  /** KV blocks in the pool. */
  numBlocks?: number;
  /** Token positions per KV block. */
  blockSize?: number;
  maxBatchTokens?: number;
  maxSeqs?: number;
  /** Requests waiting for admission beyond which new ones get 503. */
  maxQueue?: number;
}

export interface LoadedBackend {
  backend: ScheduledBackend;
  modelIds: string[];
}

/** The CUDA engine's entry (helper E's gpu-node/src/engine.ts). */
export type CreateCudaBackend = (modelDir: string, modelId: string, opts: EngineLoadOptions) => Promise<ScheduledBackend>;

const CUDA_ENGINE_ENTRY = fileURLToPath(new URL('../src/engine.ts', import.meta.url));

export async function loadBackend(name: BackendName, modelDir: string, modelId = path.basename(path.resolve(modelDir)), opts: EngineLoadOptions = {}): Promise<LoadedBackend> {
  if (!existsSync(modelDir)) throw new Error(`model folder ${modelDir} does not exist; pass --model <dir>`);
  const engineSizes = { blockSize: opts.blockSize, numBlocks: opts.numBlocks, maxBatchTokens: opts.maxBatchTokens, maxSeqs: opts.maxSeqs };
  const schedule = { id: `${name}:${modelId}`, modelIds: [modelId], maxQueue: opts.maxQueue };
  switch (name) {
    case 'reference': {
      const { loadLlamaModel } = await import('../../shared/model/load.ts');
      const { referenceStepModel } = await import('../../edge/backends/reference-backend.ts');
      const { model } = await loadLlamaModel(modelDir);
      const engine = createStepModelEngine(referenceStepModel(model), { backend: 'reference', modelId, ...engineSizes, description: 'f32 reference forward (shared/model), sequences run one after another' });
      return { backend: createScheduledBackend(engine, schedule), modelIds: [modelId] };
    }
    case 'wasm': {
      const { loadWasmStepModel } = await import('../engine/wasm-step-model.ts');
      const maxSeqs = opts.maxSeqs ?? DEFAULT_MAX_SEQS;
      const wasm = await loadWasmStepModel(modelDir, maxSeqs);
      const engine = createStepModelEngine(wasm.model, { backend: 'wasm', modelId, ...engineSizes, maxSeqs, memory: wasm.memory, description: wasm.description, onClose: wasm.close });
      return { backend: createScheduledBackend(engine, schedule), modelIds: [modelId] };
    }
    case 'cuda': {
      if (!existsSync(CUDA_ENGINE_ENTRY)) {
        throw new Error('--backend cuda is not available yet: gpu-node/src/engine.ts (createCudaBackend) is missing; use --backend wasm or --backend reference');
      }
      const mod = (await import(CUDA_ENGINE_ENTRY)) as { createCudaBackend?: CreateCudaBackend };
      if (!mod.createCudaBackend) throw new Error(`${CUDA_ENGINE_ENTRY} does not export createCudaBackend(dir, id, options); --backend cuda cannot start`);
      return { backend: await mod.createCudaBackend(modelDir, modelId, opts), modelIds: [modelId] };
    }
    default:
      throw new Error(`unknown backend '${String(name)}'; use one of ${BACKEND_NAMES.join(', ')}`);
  }
}

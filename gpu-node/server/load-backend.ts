/**
 * Builds the node's backend from `--backend`:
 *   reference  the f32 reference forward over an HF folder (shared/model), the oracle;
 *   wasm       the WASM SIMD engine (wasm/) over a packed model folder;
 *   cuda       the native BTC engine (gpu-node/src), reported as unavailable until it exposes one.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InferenceBackend } from '../../edge/backends/backend.ts';

export type BackendName = 'wasm' | 'reference' | 'cuda';
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'reference', 'cuda'];

export interface LoadedBackend {
  backend: InferenceBackend;
  modelIds: string[];
}

const CUDA_ENGINE_ENTRY = fileURLToPath(new URL('../src/engine.ts', import.meta.url));

export async function loadBackend(name: BackendName, modelDir: string, modelId = path.basename(path.resolve(modelDir))): Promise<LoadedBackend> {
  if (!existsSync(modelDir)) throw new Error(`model folder ${modelDir} does not exist; pass --model <dir>`);
  switch (name) {
    case 'reference': {
      const { loadLlamaModel } = await import('../../shared/model/load.ts');
      const { createReferenceBackend } = await import('../../edge/backends/reference-backend.ts');
      const { model } = await loadLlamaModel(modelDir);
      return { backend: createReferenceBackend(model, modelId), modelIds: [modelId] };
    }
    case 'wasm': {
      const { loadWasmBackend } = await import('../../edge/backends/wasm-node.ts');
      return { backend: await loadWasmBackend(modelDir, modelId), modelIds: [modelId] };
    }
    case 'cuda': {
      if (!existsSync(CUDA_ENGINE_ENTRY)) {
        throw new Error('--backend cuda is not available yet: gpu-node/src exposes no inference engine (only kernels); use --backend wasm or --backend reference');
      }
      const mod = (await import(CUDA_ENGINE_ENTRY)) as { createCudaBackend?: (dir: string, id: string) => Promise<InferenceBackend> };
      if (!mod.createCudaBackend) throw new Error(`${CUDA_ENGINE_ENTRY} does not export createCudaBackend(dir, id); --backend cuda cannot start`);
      return { backend: await mod.createCudaBackend(modelDir, modelId), modelIds: [modelId] };
    }
    default:
      throw new Error(`unknown backend '${String(name)}'; use one of ${BACKEND_NAMES.join(', ')}`);
  }
}

/**
 * Node-only: the WASM backend from a packed model folder (config.json + model.safetensors) and the
 * kernel builds in wasm/build/.
 */
import { readPackedModel } from '../../shared/format/packed-dir.ts';
import { fromPackedModel } from '../../wasm/src/index.ts';
import { loadKernelModule } from '../../wasm/src/node.ts';
import { createWasmBackend, type WasmBackendOptions } from './wasm-backend.ts';
import type { LocalModelBackend } from './local-model.ts';

export async function loadWasmBackend(modelDir: string, modelId: string, opts: Pick<WasmBackendOptions, 'maxEngines' | 'maxParameters'> = {}): Promise<LocalModelBackend> {
  const packed = await readPackedModel(modelDir);
  const { module, flavor } = await loadKernelModule();
  return createWasmBackend({ modelId, source: fromPackedModel(packed), kernels: { [flavor]: module }, ...opts });
}

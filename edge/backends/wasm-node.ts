/**
 * Node-only: the WASM backend from a model folder (config.json + model.safetensors, packed or not;
 * see wasm-source.ts) and the kernel builds in wasm/build/.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadKernelModule } from '../../wasm/src/node.ts';
import { createWasmBackend, type WasmBackendOptions } from './wasm-backend.ts';
import { wasmSourceFromBuffers } from './wasm-source.ts';
import type { LocalModelBackend } from './local-model.ts';

export async function loadWasmBackend(modelDir: string, modelId: string, opts: Pick<WasmBackendOptions, 'maxEngines' | 'maxParameters'> = {}): Promise<LocalModelBackend> {
  const [configJson, weights] = await Promise.all([readFile(path.join(modelDir, 'config.json'), 'utf8'), readFile(path.join(modelDir, 'model.safetensors'))]);
  const source = await wasmSourceFromBuffers(configJson, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
  const { module, flavor } = await loadKernelModule();
  return createWasmBackend({ modelId, source, kernels: { [flavor]: module }, ...opts });
}

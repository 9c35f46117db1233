/**
 * Node-only: the WASM engine over a model folder as a StepModel for step-model-engine.ts.
 *
 * A WASM engine holds one sequence's KV cache in its own memory (with its own copy of the weights),
 * so each live sequence takes one engine. Engines are created on demand up to `maxEngines` (the
 * scheduler's maxSeqs, so a new session never has to wait) and reset and reused after release. One
 * engine is built at load, which validates the model folder before the server starts listening.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createWasmEngine, type WasmEngine } from '../../wasm/src/index.ts';
import { loadKernelModule } from '../../wasm/src/node.ts';
import { parseLlamaConfig } from '../../shared/model/config.ts';
import { wasmSourceFromBuffers } from '../../edge/backends/wasm-source.ts';
import type { StepModel } from '../../edge/backends/local-model.ts';
import type { EngineMemory } from './batch-engine.ts';

export interface WasmStepModel {
  model: StepModel;
  /** Planned for `maxEngines` engines (each holds weights, KV cache and activations). */
  memory: EngineMemory;
  description: string;
  close(): Promise<void>;
}

export async function loadWasmStepModel(modelDir: string, maxEngines: number): Promise<WasmStepModel> {
  if (!Number.isInteger(maxEngines) || maxEngines < 1) throw new RangeError(`maxEngines ${maxEngines} must be a positive integer`);
  const [configJson, weights] = await Promise.all([readFile(path.join(modelDir, 'config.json'), 'utf8'), readFile(path.join(modelDir, 'model.safetensors'))]);
  const source = await wasmSourceFromBuffers(configJson, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength));
  const { module, flavor } = await loadKernelModule();
  const config = parseLlamaConfig(source.config);
  const maxSeq = config.maxPositionEmbeddings;
  const make = () => createWasmEngine({ model: source, kernels: { [flavor]: module }, maxSeq });

  const first = await make();
  const idle: WasmEngine[] = [first];
  const all: WasmEngine[] = [first];
  const attnWidth = config.numHeads * config.headDim * 2 + config.numKvHeads * config.headDim * 2; // q, o + k, v
  const parameterCount = config.vocabSize * config.hiddenSize * (config.tieWordEmbeddings ? 1 : 2) + config.numLayers * (config.hiddenSize * attnWidth + 3 * config.hiddenSize * config.intermediateSize);
  // f32 K and V per layer, per position (engine-model.ts allocates them so).
  const kvBytes = 2 * config.numLayers * maxSeq * config.numKvHeads * config.headDim * 4;
  const memory: EngineMemory = {
    totalBytes: first.memoryBytes * maxEngines,
    weightBytes: first.weightBytes * maxEngines,
    kvBytes: kvBytes * maxEngines,
    workspaceBytes: Math.max(0, first.memoryBytes - first.weightBytes - kvBytes) * maxEngines,
  };

  const model: StepModel = {
    vocabSize: config.vocabSize,
    contextLength: maxSeq,
    parameterCount,
    async newSession() {
      let engine = idle.pop();
      if (!engine) {
        if (all.length >= maxEngines) throw new Error(`all ${maxEngines} WASM engines are in use: the scheduler's maxSeqs must not exceed maxEngines`);
        engine = await make();
        all.push(engine);
      }
      const e = engine;
      e.reset();
      return { forward: (tokens) => e.prefill(tokens), dispose: () => void idle.push(e) };
    },
  };
  return {
    model,
    memory,
    description: `WASM engine (${flavor} kernels), one engine per concurrent sequence, up to ${maxEngines}`,
    async close() {
      await Promise.all(all.map((e) => e.close()));
    },
  };
}

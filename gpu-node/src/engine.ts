/**
 * `--backend cuda` of the GPU node (gpu-node/server/load-backend.ts): the CUDA engine under the
 * continuous-batching scheduler. Engine sizes not given take the engine's defaults (KV blocks planned
 * from free device memory, block size 16, 2048 tokens and 64 sequences per step).
 */
import type { ScheduledBackend } from '../engine/scheduler.ts';
import { createScheduledBackend } from '../engine/scheduler.ts';
import { CudaBatchEngine, type CudaEngineOptions } from './cuda-engine.ts';

export interface CudaBackendOptions extends Partial<Omit<CudaEngineOptions, 'modelId'>> {
  /** Requests waiting for admission beyond which new ones are refused (the scheduler's maxQueue). */
  maxQueue?: number;
}

export async function createCudaBackend(dir: string, id: string, options: CudaBackendOptions = {}): Promise<ScheduledBackend> {
  const { maxQueue, ...engineOptions } = options;
  const defined = Object.fromEntries(Object.entries(engineOptions).filter(([, v]) => v !== undefined)) as Partial<CudaEngineOptions>;
  const engine = await CudaBatchEngine.load(dir, { ...defined, modelId: id });
  try {
    return createScheduledBackend(engine, { id, modelIds: [id], ...(maxQueue !== undefined ? { maxQueue } : {}) });
  } catch (err) {
    await engine.close();
    throw err;
  }
}

/**
 * `--backend cuda` of the GPU node (gpu-node/server/load-backend.ts): the CUDA engine under the
 * continuous-batching scheduler.
 */
import type { ScheduledBackend } from '../engine/scheduler.ts';
import { createScheduledBackend } from '../engine/scheduler.ts';
import { CudaBatchEngine, type CudaEngineOptions } from './cuda-engine.ts';

export async function createCudaBackend(dir: string, id: string, options: Partial<CudaEngineOptions> = {}): Promise<ScheduledBackend> {
  const engine = await CudaBatchEngine.load(dir, { ...options, modelId: id });
  return createScheduledBackend(engine, { id, modelIds: [id] });
}

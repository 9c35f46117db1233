/**
 * @module gpu-node: the CUDA backend (optional). `loadCudaBackend()` says whether it can run here.
 */
export * from './load-cuda-backend.ts';
export * from './cuda-linear.ts';
export type * from './native.ts';

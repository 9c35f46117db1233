/**
 * @module shared/model: the LLaMA-family reference model (config, layers, forward, sampling).
 * Re-exports only, and only runtime-free modules: the Node-only loader and synthetic-model writer
 * are imported from './load.ts' and './synth.ts' directly.
 */
export * from './config.ts';
export * from './linear.ts';
export * from './norm.ts';
export * from './rope.ts';
export * from './attention.ts';
export * from './mlp.ts';
export * from './kv-cache.ts';
export * from './llama.ts';
export * from './weights.ts';
export * from './sampling.ts';
export * from './generate.ts';
export * from './synth-shapes.ts';

/**
 * @module shared/hub: publishing packed models to the Hugging Face Hub and loading them back by repo id
 * (docs/PUBLISHING.md). Re-exports only. parse-model-ref, model-card, yaml, errors and hub-config are
 * runtime-free; the rest use node:fs and run in Node (the CLI, gpu-node, the edge's Node server).
 */
export * from './errors.ts';
export * from './hub-config.ts';
export * from './parse-model-ref.ts';
export * from './model-card.ts';
export * from './parse-quant-report.ts';
export * from './read-eval-results.ts';
export * from './read-model-summary.ts';
export * from './push-model.ts';
export * from './pull-model.ts';
export * from './resolve-model-ref.ts';
export * from './cache.ts';
export * from './verify-checksums.ts';
export * from './with-retries.ts';
export * from './to-hub-error.ts';

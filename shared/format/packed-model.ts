/**
 * @module shared/format/packed-model: the packed model layer in one import (metadata schema,
 * quantization_config, checksums, validation, readers and the streaming writer). Re-exports only;
 * Node-only (it includes the folder reader and writer). Runtime-free code imports packed-read.ts.
 */
export * from './layer-spec.ts';
export * from './metadata.ts';
export * from './quant-config.ts';
export * from './checksum.ts';
export * from './packed-check.ts';
export * from './packed-read.ts';
export * from './packed-dir.ts';
export * from './packed-write.ts';

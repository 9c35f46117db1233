/**
 * @module shared/format/runtime-free: the part of the format layer that runs anywhere (Node, browsers,
 * workerd): no node:* imports, checked by test/shared/format/runtime-free.test.ts. Re-exports only.
 * Node code may use index.ts, which adds the file readers and writers.
 */
export * from './errors.ts';
export * from './dtypes.ts';
export * from './bitplanes.ts';
export * from './f16.ts';
export * from './json-strict.ts';
export * from './safetensors-header.ts';
export * from './safetensors-layout.ts';
export * from './safetensors-read.ts';
export * from './safetensors-serialize.ts';
export * from './layer-spec.ts';
export * from './metadata.ts';
export * from './quant-config.ts';
export * from './checksum.ts';
export * from './packed-check.ts';
export * from './packed-read.ts';

/**
 * @module shared/format: the packed-weight format (docs/FORMAT.md). Re-exports only.
 * Node-only modules (safetensors-file, safetensors-write, packed-write, packed-dir) import node:*;
 * runtime-free code (workers, browsers) should import the specific runtime-free files instead.
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
export * from './safetensors-file.ts';
export * from './safetensors-write.ts';
export * from './layer-spec.ts';
export * from './metadata.ts';
export * from './quant-config.ts';
export * from './checksum.ts';
export * from './packed-check.ts';
export * from './packed-read.ts';
export * from './packed-dir.ts';
export * from './packed-write.ts';

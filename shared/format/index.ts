/**
 * @module shared/format: the packed-weight format (docs/FORMAT.md). Re-exports only.
 * This entry includes the Node-only file readers and writers; code for browsers and workerd imports
 * runtime-free.ts instead.
 */
export * from './runtime-free.ts';
export * from './safetensors-file.ts';
export * from './safetensors-write.ts';
export * from './packed-dir.ts';
export * from './packed-write.ts';
export * from './atomic-dir.ts';

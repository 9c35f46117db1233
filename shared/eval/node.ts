/**
 * @module shared/eval/node
 * Node entry point: everything in ./index.ts plus model-folder loading (loadAnyModel, registerModelLoader).
 */
export * from './index.ts';
export * from './load-any-model.ts';
export * from './model-loaders.ts';

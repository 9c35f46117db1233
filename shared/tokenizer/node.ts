/**
 * @module shared/tokenizer/node
 * Node entry point: everything in ./index.ts plus loadTokenizer(dir), which reads a model folder.
 */
export * from './index.ts';
export * from './load-tokenizer.ts';

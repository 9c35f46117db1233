/**
 * @module shared/tokenizer
 * Runtime-free entry point (Node, browsers, workerd). The Node folder loader is in ./node.ts.
 */
export * from './tokenizer.ts';
export * from './chat-template.ts';
export * from './incremental-decoder.ts';
export { wordCutIsExact } from './word-cut-encoder.ts';

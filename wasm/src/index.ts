/**
 * @module
 * The WASM engine's public, runtime-free API (Node, browsers, workerd). Node-only loaders are in
 * ./node.ts. See wasm/README.md.
 */
export { createWasmEngine, DEFAULT_MAX_TOKENS, type WasmEngine, type EngineOptions, type GenerateOptions, type GeneratedToken } from './engine.ts';
export { fromPackedModel, type PackedModelSource, type QuantizedLinearSource } from './model-source.ts';
export { relaxedSimdSupported, simdSupported, type KernelFlavor, type KernelSource } from './kernels.ts';

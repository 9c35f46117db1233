/**
 * Entry of the scalar build (no SIMD instructions: runs on any WebAssembly engine). Exports the
 * same names and signatures as kernels-simd.ts; the host picks one build once, at load.
 */
export { quantizeActs, packActPlanes } from './scalar/act-quant';
export { bitGemm } from './scalar/bitgemm';
export { codeGemm } from './scalar/codegemm';
export { lutTables, lutGemm, repackToLut } from './scalar/lutgemm';
export { lutPairsGemm, repackToLutPairs } from './scalar/lutpairs';
export { a16Gemm } from './scalar/a16';
export { repackToTiles, repackToContainersScalar as repackToContainers, weightSums } from './repack';
export { epilogue } from './scalar/epilogue';
export { matmulF32, rmsNorm, addInPlace, swiglu, ropeRotateHalf, attention, embedRows, argmax } from './scalar/f32ops';

/** First byte the host may use for its own buffers (after static data). */
export function heapBase(): usize {
  return __heap_base;
}
export { streamRead } from './scalar/stream';

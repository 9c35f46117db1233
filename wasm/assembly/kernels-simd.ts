/**
 * Entry of the SIMD build (--enable simd; plain SIMD only, no relaxed SIMD: see ECOSYSTEM.md).
 * Same export names and signatures as kernels-scalar.ts.
 */
import { bitGemmDispatch } from './simd/bitgemm-generated';

export { quantizeActs, packActPlanes } from './simd/act-quant';
export { codeGemm } from './simd/codegemm';
export { lutTables, lutGemm, repackToLut } from './simd/lutgemm';
export { lutPairsGemm } from './simd/lutpairs';
export { repackToLutPairs } from './simd/repack-pairs';
export { a16Gemm } from './simd/a16';
export { weightSums } from './repack';
export { repackToContainers, repackToTiles } from './simd/repack';
export { epilogue } from './simd/epilogue';
export { matmulF32, addInPlace } from './simd/f32ops';
export { rmsNorm, swiglu, attention, ropeRotateHalf, embedRows, argmax } from './scalar/f32ops';

/** Bitwise GEMM over bit planes: dispatches to the kernel unrolled for (p, q). Layout: layout.ts. */
export function bitGemm(p: i32, q: i32, xPlanes: usize, tiles: usize, acc: usize, m: i32, nTiles: i32,
  wd: i32, groupWords: i32, groups: i32, nPad: i32): bool {
  return bitGemmDispatch(p, q, xPlanes, tiles, acc, m, nTiles, wd, groupWords, groups, nPad);
}

export function heapBase(): usize {
  return __heap_base;
}
export { streamRead } from './simd/stream';

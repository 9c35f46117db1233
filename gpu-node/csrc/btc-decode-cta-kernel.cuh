// The BTC decode kernel with its K split inside one CTA (few tokens: M x R <= 8).
//
// The MMA shape is btc-decode-kernel.cuh's (weights are the A operand, 16 outputs per warp; activation
// plane columns are B), and so are the weight loads and the flush arithmetic. What differs is where the
// partial sums meet:
//
//   CTA c   = the 16-output tile c: outputs 16c .. 16c + 15 (n-tiles 2c and 2c + 1 of the tile layout)
//   warp w  = K pairs [w * pairsPerWarp, (w + 1) * pairsPerWarp) of that tile
//   sacc    = shared u32 [M][16][G]: every warp adds its flushed group sums here (shared atomics on
//             integers: exact, so the result does not depend on the warps' order)
//   then    = the CTA applies the group epilogue straight from sacc: fp16 outputs (Linear's decode path)
//             or the engine's f32 outputs with the residual added (finishF32); otherwise it stores sacc
//             to acc for callers that run their own epilogue (the checks' integer path, the engine's
//             deferred prep). acc is never read here, and every entry of the tile is stored.
//
// Why: the split-K decode kernel spreads a tile's K over CTAs that meet in global memory: integer
// atomics into acc, a fence, an arrival counter, and the last CTA's epilogue reading acc back through
// L2. That chain of dependent L2 round trips costs several microseconds per call whatever the layer's
// size (4096x4096 W2A8: 8.9 us for 1.4 us of weights at copy bandwidth; NOTES.md). Here the CTA's
// warps issue their weight loads together and the reduction never leaves the SM.
#pragma once
#include "btc-decode-kernel.cuh"

namespace abq {

/** Shared accumulator words of one CTA; the host falls back to the split-K decode kernel above this. */
constexpr int kDecodeCtaMaxSmemWords = 48 * 1024 / 4;

/** Shared accumulator words of one CTA for M tokens and G weight groups: sacc[M][16][G]. */
inline size_t decodeCtaSmemWords(int m, int groups) { return static_cast<size_t>(m) * kDecodeTileN * groups; }

/** The engine's f32 epilogue (+ residual) of a tile from the shared sums; e's activation parameters may
 *  live in shared memory (the fused-prep kernel's). acc is untouched. */
__device__ __forceinline__ void decodeCtaFinishF32(const BtcArgs& a, const EpiF32Args& e, const uint32_t* sacc, int nBase) {
  const int actGroups = (e.k + e.actGroup - 1) / e.actGroup;
  for (int i = threadIdx.x; i < a.m * kDecodeTileN; i += blockDim.x) {
    const int row = i / kDecodeTileN, col = nBase + i % kDecodeTileN;
    if (col >= a.n) continue;
    const uint32_t* sums = sacc + i * a.groups;
    e.y[static_cast<size_t>(row) * e.n + col] = epilogueF32With(e, a.groups, actGroups, row, col, [&](int gr) { return sums[gr]; });
  }
}

/**
 * The CTA-local kernels' tail, after every warp's sums are in sacc[M][16][G] (and a barrier): the f32
 * epilogue with the residual (finishF32), Linear's fp16 epilogue (fuseEpilogue), or every entry of the
 * tile's acc stored (acc is never read, so it needs no zeroing).
 */
__device__ __forceinline__ void decodeCtaFinish(const BtcArgs& a, const uint32_t* sacc, int nBase) {
  if (a.finishF32) {  // the engine's decode path: f32 outputs (+ residual) from the shared sums, acc untouched
    decodeCtaFinishF32(a, a.epi32, sacc, nBase);
    return;
  }
  if (a.fuseEpilogue) {  // Linear's decode path: fp16 outputs straight from the shared sums
    const int groups = (a.epi.k + a.epi.groupSize - 1) / a.epi.groupSize;
    const int actGroups = (a.epi.k + a.epi.actGroup - 1) / a.epi.actGroup;
    for (int i = threadIdx.x; i < a.m * kDecodeTileN; i += blockDim.x) {
      const int row = i / kDecodeTileN, col = nBase + i % kDecodeTileN;
      if (col >= a.n) continue;
      float y = 0.f;
      for (int gr = 0; gr < groups; gr++) y = epilogueGroupTerm(a.epi, row, col, gr, groups, actGroups, sacc[i * groups + gr], y);
      epilogueStore(a.epi, row, col, y);
    }
    return;
  }
  const int accWords = a.m * kDecodeTileN * a.groups;
  for (int i = threadIdx.x; i < accWords; i += blockDim.x) {
    const int gr = i % a.groups, rowOut = i / a.groups;
    const int row = rowOut / kDecodeTileN, col = nBase + rowOut % kDecodeTileN;
    if (col < a.n) a.acc[(static_cast<size_t>(row) * a.n + col) * a.groups + gr] = sacc[i];
  }
}

template <int P,   // weight bits (1..8)
          int R>   // activation plane columns per token (1, 2, 4, 8)
__global__ void __launch_bounds__(kBtcThreads, P <= 4 ? 3 : 2) btcDecodeCtaKernel(const BtcArgs a) {
  static_assert(P >= 1 && P <= 8 && (R == 1 || R == 2 || R == 4 || R == 8), "1..8 weight bits, R a power of two <= 8");
  extern __shared__ uint32_t sacc[];  // [token][output in tile][group]
  pdlLaunchDependents();  // PDL (pdl.h): the next kernel may launch; this one waits after its first weight loads
  const int warp = threadIdx.x / 32;
  const int wTile = blockIdx.x;
  const int t0 = 2 * wTile;
  const int pairBegin = min(a.kPairs, warp * a.pairsPerSplit);
  const int pairEnd = min(a.kPairs, pairBegin + a.pairsPerSplit);
  const int accWords = a.m * kDecodeTileN * a.groups;
  for (int i = threadIdx.x; i < accWords; i += kBtcThreads) sacc[i] = 0;

  __syncthreads();  // sacc zeroed before any warp's flush
  decodeWarpAccumulate<P, R>(a, t0, t0 + 1 < a.nTiles, pairBegin, pairEnd, [&](int token, int out, int group, uint32_t v) {
    atomicAdd(&sacc[(token * kDecodeTileN + out) * a.groups + group], v);  // shared: exact in any order
  }, GlobalPlanes{a.xplanes});
  __syncthreads();
  decodeCtaFinish(a, sacc, kDecodeTileN * wTile);
}

}  // namespace abq

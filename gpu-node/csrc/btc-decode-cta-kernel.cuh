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
#include <climits>

#include "btc-decode-kernel.cuh"

namespace abq {

/** Shared accumulator words of one CTA; the host falls back to the split-K decode kernel above this. */
constexpr int kDecodeCtaMaxSmemWords = 48 * 1024 / 4;

template <int P,   // weight bits (1..8)
          int R>   // activation plane columns per token (1, 2, 4, 8)
__global__ void __launch_bounds__(kBtcThreads, P <= 4 ? 3 : 2) btcDecodeCtaKernel(const BtcArgs a) {
  static_assert(P >= 1 && P <= 8 && (R == 1 || R == 2 || R == 4 || R == 8), "1..8 weight bits, R a power of two <= 8");
  extern __shared__ uint32_t sacc[];  // [token][output in tile][group]
  pdlLaunchDependents();  // PDL (pdl.h): the next kernel may launch; this one waits after its first weight loads
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int wTile = blockIdx.x;
  const int t0 = 2 * wTile;
  const bool has1 = t0 + 1 < a.nTiles;
  const int pairBegin = min(a.kPairs, warp * a.pairsPerSplit);
  const int pairEnd = min(a.kPairs, pairBegin + a.pairsPerSplit);
  const int accWords = a.m * kDecodeTileN * a.groups;
  for (int i = threadIdx.x; i < accWords; i += kBtcThreads) sacc[i] = 0;

  // Activation column g of this lane: token g / R, plane g % R (zero past q or M).
  const int colToken = g / R, colPlane = g % R;
  const int xRow = (colPlane < a.q && colToken < a.m) ? (colPlane * a.m + colToken) * a.wordsPad + t : -1;

  uint32_t S[P][4];
#pragma unroll
  for (int j = 0; j < P; j++)
#pragma unroll
    for (int e = 0; e < 4; e++) S[j][e] = 0;

  // As btcDecodeKernel's flush, into shared memory: lane (g, t) holds outputs g and g + 8 for columns
  // 2t and 2t + 1; the columns of one token are summed in-lane and over t with xor-shuffles.
  auto flush = [&](int group) {
#pragma unroll
    for (int h = 0; h < 2; h++) {
      uint32_t v[2];
#pragma unroll
      for (int e = 0; e < 2; e++) {
        uint32_t s = 0;
#pragma unroll
        for (int j = 0; j < P; j++) {
          s += S[j][2 * h + e] << j;  // wrapping u32, as the other kernels' sums
          S[j][2 * h + e] = 0;
        }
        v[e] = s << ((2 * t + e) % R);
      }
      const int out = 8 * h + g;  // output within the tile
      if (R == 1) {
#pragma unroll
        for (int e = 0; e < 2; e++) {
          const int token = 2 * t + e;
          if (token < a.m && v[e] != 0) atomicAdd(&sacc[(token * kDecodeTileN + out) * a.groups + group], v[e]);
        }
        continue;
      }
      uint32_t s = v[0] + v[1];
      if (R >= 4) s += __shfl_xor_sync(kFullMask, s, 1);
      if (R == 8) s += __shfl_xor_sync(kFullMask, s, 2);
      const int token = (2 * t) / R;
      if ((2 * t) % R == 0 && token < a.m && s != 0) atomicAdd(&sacc[(token * kDecodeTileN + out) * a.groups + group], s);
    }
  };

  int group = min((2 * pairBegin) / a.groupChunks, a.groups - 1);
  int nextBoundary = group + 1 < a.groups ? (group + 1) * a.groupChunks : INT_MAX;
  auto computePair = [&](int pair, const uint4 (&w0)[P], const uint4 (&w1)[P]) {
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int chunk = 2 * pair + half;
      if (chunk >= nextBoundary) {
        flush(group);
        group++;
        nextBoundary = group + 1 < a.groups ? nextBoundary + a.groupChunks : INT_MAX;
      }
      const int wOff = chunk * kChunkWords;
      const uint32_t b0 = xRow >= 0 ? ldCached(a.xplanes + xRow + wOff) : 0u;
      const uint32_t b1 = xRow >= 0 ? ldCached(a.xplanes + xRow + wOff + 4) : 0u;
#pragma unroll
      for (int j = 0; j < P; j++) {
        const uint32_t af[4] = {half ? w0[j].z : w0[j].x, half ? w1[j].z : w1[j].x, half ? w0[j].w : w0[j].y,
                                half ? w1[j].w : w1[j].y};
        mmaAndPopcAcc(S[j], af, b0, b1);
      }
    }
  };

  // Weight streaming as btcDecodeKernel: 2 P uint4 per lane per pair, one pair of lookahead for P <= 2.
  constexpr bool kLookahead = P <= 2;
  const size_t tileStride = static_cast<size_t>(a.kPairs) * P * kLanes;
  const uint4* wp0 = a.wtile + static_cast<size_t>(t0) * tileStride + static_cast<size_t>(pairBegin) * P * kLanes + lane;
  const uint4* wp1 = wp0 + tileStride;
  const uint4 zero4 = make_uint4(0, 0, 0, 0);
  uint4 w0[P], w1[P];
#pragma unroll
  for (int j = 0; j < P; j++) {
    w0[j] = pairBegin < pairEnd ? ldStream(wp0 + j * kLanes) : zero4;
    w1[j] = pairBegin < pairEnd && has1 ? ldStream(wp1 + j * kLanes) : zero4;
  }
  pdlWait();
  __syncthreads();  // sacc zeroed before any warp's flush
#pragma unroll 1
  for (int pair = pairBegin; pair < pairEnd; pair++) {
    wp0 += P * kLanes;
    wp1 += P * kLanes;
    const bool more = pair + 1 < pairEnd;
    if constexpr (kLookahead) {
      uint4 n0[P], n1[P];
#pragma unroll
      for (int j = 0; j < P; j++) {
        n0[j] = more ? ldStream(wp0 + j * kLanes) : zero4;
        n1[j] = more && has1 ? ldStream(wp1 + j * kLanes) : zero4;
      }
      computePair(pair, w0, w1);
#pragma unroll
      for (int j = 0; j < P; j++) { w0[j] = n0[j]; w1[j] = n1[j]; }
    } else {
      computePair(pair, w0, w1);
#pragma unroll
      for (int j = 0; j < P; j++) {
        w0[j] = more ? ldStream(wp0 + j * kLanes) : zero4;
        w1[j] = more && has1 ? ldStream(wp1 + j * kLanes) : zero4;
      }
    }
  }
  if (pairBegin < pairEnd) flush(group);
  __syncthreads();

  const int nBase = kDecodeTileN * wTile;
  if (a.finishF32) {  // the engine's decode path: f32 outputs (+ residual) from the shared sums, acc untouched
    const EpiF32Args& e = a.epi32;
    const int actGroups = (e.k + e.actGroup - 1) / e.actGroup;
    for (int i = threadIdx.x; i < a.m * kDecodeTileN; i += kBtcThreads) {
      const int row = i / kDecodeTileN, col = nBase + i % kDecodeTileN;
      if (col >= a.n) continue;
      const uint32_t* sums = sacc + i * a.groups;
      e.y[static_cast<size_t>(row) * e.n + col] = epilogueF32With(e, a.groups, actGroups, row, col, [&](int gr) { return sums[gr]; });
    }
    return;
  }
  if (a.fuseEpilogue) {  // Linear's decode path: fp16 outputs straight from the shared sums
    const int groups = (a.epi.k + a.epi.groupSize - 1) / a.epi.groupSize;
    const int actGroups = (a.epi.k + a.epi.actGroup - 1) / a.epi.actGroup;
    for (int i = threadIdx.x; i < a.m * kDecodeTileN; i += kBtcThreads) {
      const int row = i / kDecodeTileN, col = nBase + i % kDecodeTileN;
      if (col >= a.n) continue;
      float y = 0.f;
      for (int gr = 0; gr < groups; gr++) y = epilogueGroupTerm(a.epi, row, col, gr, groups, actGroups, sacc[i * groups + gr], y);
      epilogueStore(a.epi, row, col, y);
    }
    return;
  }
  for (int i = threadIdx.x; i < accWords; i += kBtcThreads) {  // every entry stored: acc needs no zeroing
    const int gr = i % a.groups, rowOut = i / a.groups;
    const int row = rowOut / kDecodeTileN, col = nBase + rowOut % kDecodeTileN;
    if (col < a.n) a.acc[(static_cast<size_t>(row) * a.n + col) * a.groups + gr] = sacc[i];
  }
}

}  // namespace abq

// The BTC decode kernel (few tokens: M x R <= 8): weights are the MMA's A operand, activations its B.
//
//   acc_g[m, n] = sum_i sum_j 2^(i+j) popcount(X_i[m, g] AND W_j[n, g])      (as btc-kernel.cuh)
//
// Why a second kernel: at batch 1 the split-K kernel (btc-kernel.cuh) puts activation plane rows in A
// (16 rows, of which one token uses R) and 8 weight rows in B, so each MMA covers 8 outputs and, at 8
// activation bits, half its rows are empty; ncu counted ~635 instructions per warp for 4 K pairs, the
// kernel issue- and latency-bound well below the weight stream (NOTES.md engine E3). Here one MMA covers
// 16 outputs x all 8 plane columns of the token(s):
//
//             activation columns (B): c = token * R + plane i, 8 per fragment (M R <= 8)
//            +--------------------------------+
//   row 0    | output 16 w + 0, plane j        |   rows 0..7 from n-tile 2w, rows 8..15 from n-tile 2w + 1:
//   ...      |                                 |   the tile layout's lane (g, t) already holds both A rows'
//   row 15   | output 16 w + 15, plane j       |   words (btc-layout.cuh .x/.y for chunk 0, .z/.w chunk 1)
//            +--------------------------------+
//
// so the weights keep their tile layout (no second copy): lane (g, t) loads the uint4 of n-tile 2w and
// of 2w + 1 for each plane, and a = {T0.x, T1.x, T0.y, T1.y} (chunk 0), {T0.z, T1.z, T0.w, T1.w} (chunk 1).
// Per 256-bit chunk a warp issues P MMAs for 16 outputs and 2 activation loads, against 2P MMAs and 8
// loads per 16 outputs in the split-K kernel at R = 8.
//
// Accumulators: one set of 4 per weight plane j (C += D, the 2^j shift once per flush). flush: lane
// (g, t) holds outputs g and g + 8 for columns 2t, 2t + 1; values are shifted by the column's plane,
// summed over the columns of one token (in-lane, then xor-shuffles over t for R = 4, 8) and added to acc
// with integer atomics (K is split across CTAs as in the split-K kernel; integer sums are exact in any
// order). Grid: x = 1, y = groups of kBtcWarps 16-output tiles, z = K splits. Counters and the fused fp16
// epilogue (Linear's own decode path) work as in btc-kernel.cuh, over 128 outputs per CTA.
#pragma once
#include <climits>

#include "btc-kernel.cuh"

namespace abq {

constexpr int kDecodeTileN = 2 * kTileN;  // outputs per warp (one A fragment)

/**
 * Per-token sums of one activation fragment: lane (g, t) holds c = {row g col 2t, row g col 2t + 1,
 * row g + 8 col 2t, row g + 8 col 2t + 1}, already combined over the weight planes. Column 2t + e is
 * plane (2t + e) % R of token tokenBase + (2t + e) / R: each value is shifted by its plane, the columns of
 * one token are summed in-lane, then over t with xor-shuffles (R = 4, 8), and add(token, out, group, v)
 * is called for every nonzero sum (out: output within the 16, 0..15). Wrapping u32 throughout.
 */
template <int R, typename Add>
__device__ __forceinline__ void addFragmentSums(const uint32_t (&c)[4], int tokenBase, int m, int group, Add add) {
  const int lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int h = 0; h < 2; h++) {  // A rows g (n-tile t0) and g + 8 (n-tile t0 + 1)
    const uint32_t v0 = c[2 * h] << ((2 * t) % R), v1 = c[2 * h + 1] << ((2 * t + 1) % R);
    const int out = 8 * h + g;
    if (R == 1) {  // every column is a token
      if (tokenBase + 2 * t < m && v0 != 0) add(tokenBase + 2 * t, out, group, v0);
      if (tokenBase + 2 * t + 1 < m && v1 != 0) add(tokenBase + 2 * t + 1, out, group, v1);
      continue;
    }
    uint32_t s = v0 + v1;  // R >= 2: both columns belong to one token
    if (R >= 4) s += __shfl_xor_sync(kFullMask, s, 1);
    if (R == 8) s += __shfl_xor_sync(kFullMask, s, 2);
    const int token = tokenBase + (2 * t) / R;
    if ((2 * t) % R == 0 && token < m && s != 0) add(token, out, group, s);
  }
}

/**
 * The decode kernels' weight stream for one warp: the 16 outputs of n-tiles t0 and t0 + 1 over K pairs
 * [pairBegin, pairEnd), 2 P uint4 per lane per pair, one pair of lookahead where the registers allow
 * (P <= 2 within the 85 registers of 3 CTAs per SM). computePair(pair, w0, w1) runs the MMAs of a pair
 * (w0: n-tile t0's words, w1: t0 + 1's, zero past N). Calls pdlWait() once, after the first weight loads
 * are in flight, in every lane (an empty range too), and then afterWait().
 */
/** No work after the PDL wait (the decode kernels that read their activation planes from global memory). */
struct NoPrologue {
  __device__ void operator()() const {}
};

template <int P, bool kLookahead, typename Compute, typename AfterWait = NoPrologue>
__device__ __forceinline__ void streamDecodePairs(const BtcArgs& a, int t0, bool has1, int pairBegin, int pairEnd,
                                                  Compute computePair, AfterWait afterWait = AfterWait{}) {
  const int lane = threadIdx.x % 32;
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
  afterWait();  // in every thread of the CTA (the fused-prep kernel's prologue has barriers)
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
}

/** Activation plane words from global memory through L1 (every CTA on an SM reads the same planes). */
struct GlobalPlanes {
  const uint32_t* planes;
  __device__ __forceinline__ uint32_t operator()(int offset) const { return ldCached(planes + offset); }
};

/** A fragment of weight plane j for chunk half (0, 1) of a pair: rows 0..7 from n-tile t0, 8..15 from t0 + 1. */
__device__ __forceinline__ void weightFragment(uint32_t (&af)[4], const uint4& w0, const uint4& w1, int half) {
  af[0] = half ? w0.z : w0.x;
  af[1] = half ? w1.z : w1.x;
  af[2] = half ? w0.w : w0.y;
  af[3] = half ? w1.w : w1.y;
}

/** Tracks the weight group of consecutive chunks: before(chunk) flushes and advances at each boundary. */
struct GroupCursor {
  int group, nextBoundary;
  __device__ GroupCursor(const BtcArgs& a, int pairBegin) {
    group = min((2 * pairBegin) / a.groupChunks, a.groups - 1);
    nextBoundary = group + 1 < a.groups ? (group + 1) * a.groupChunks : INT_MAX;
  }
  template <typename Flush>
  __device__ __forceinline__ void before(const BtcArgs& a, int chunk, Flush flush) {
    if (chunk < nextBoundary) return;
    flush(group);
    group++;
    nextBoundary = group + 1 < a.groups ? nextBoundary + a.groupChunks : INT_MAX;
  }
};

/**
 * One warp's share of a decode product (M x R <= 8: one activation fragment): the 16 outputs of n-tiles
 * t0 and t0 + 1 over K pairs [pairBegin, pairEnd). At each weight-group boundary and at the end it calls
 * add(token, out, group, value) for every nonzero per-token sum (addFragmentSums). xload(offset) reads word
 * `offset` of the activation planes (u32 [q][M][wordsPad]: global memory, or a copy in shared memory).
 */
template <int P, int R, typename Add, typename XLoad, typename AfterWait = NoPrologue>
__device__ __forceinline__ void decodeWarpAccumulate(const BtcArgs& a, int t0, bool has1, int pairBegin, int pairEnd,
                                                     Add add, XLoad xload, AfterWait afterWait = AfterWait{}) {
  static_assert(P >= 1 && P <= 8 && (R == 1 || R == 2 || R == 4 || R == 8), "1..8 weight bits, R a power of two <= 8");
  const int lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;

  // Activation column g of this lane: token g / R, plane g % R (zero past q or M).
  const int colToken = g / R, colPlane = g % R;
  const int xRow = (colPlane < a.q && colToken < a.m) ? (colPlane * a.m + colToken) * a.wordsPad + t : -1;

  // One accumulator set per weight plane j (C += D); the 2^j shift once per flush.
  uint32_t S[P][4];
#pragma unroll
  for (int j = 0; j < P; j++)
#pragma unroll
    for (int e = 0; e < 4; e++) S[j][e] = 0;
  auto flush = [&](int group) {
    uint32_t c[4];
#pragma unroll
    for (int e = 0; e < 4; e++) {
      c[e] = 0;
#pragma unroll
      for (int j = 0; j < P; j++) {
        c[e] += S[j][e] << j;
        S[j][e] = 0;
      }
    }
    addFragmentSums<R>(c, 0, a.m, group, add);
  };

  GroupCursor cursor(a, pairBegin);
  streamDecodePairs<P, P <= 2>(a, t0, has1, pairBegin, pairEnd, [&](int pair, const uint4 (&w0)[P], const uint4 (&w1)[P]) {
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int chunk = 2 * pair + half;
      cursor.before(a, chunk, flush);
      const int wOff = chunk * kChunkWords;
      const uint32_t b0 = xRow >= 0 ? xload(xRow + wOff) : 0u;
      const uint32_t b1 = xRow >= 0 ? xload(xRow + wOff + 4) : 0u;
#pragma unroll
      for (int j = 0; j < P; j++) {
        uint32_t af[4];
        weightFragment(af, w0[j], w1[j], half);
        mmaAndPopcAcc(S[j], af, b0, b1);
      }
    }
  }, afterWait);
  if (pairBegin < pairEnd) flush(cursor.group);
}

template <int P,   // weight bits (1..8)
          int R>   // activation plane columns per token (1, 2, 4, 8)
__global__ void __launch_bounds__(kBtcThreads, P <= 4 ? 3 : 2) btcDecodeKernel(const BtcArgs a) {
  pdlLaunchDependents();  // PDL (pdl.h): the next kernel may launch; this one waits after its first weight loads
  const int wTile = blockIdx.y * kBtcWarps + threadIdx.x / 32;  // 16-output tile: n-tiles 2 wTile, 2 wTile + 1
  const int t0 = 2 * wTile;
  const bool active = t0 < a.nTiles;
  const int pairBegin = blockIdx.z * a.pairsPerSplit;
  const int pairEnd = active ? min(a.kPairs, pairBegin + a.pairsPerSplit) : pairBegin;
  // K is split across CTAs: integer atomics make the sums exact and identical whatever the order.
  decodeWarpAccumulate<P, R>(a, t0, t0 + 1 < a.nTiles, pairBegin, pairEnd, [&](int token, int out, int group, uint32_t v) {
    const int n = 16 * wTile + out;
    if (n < a.n) atomicAdd(a.acc + (static_cast<size_t>(token) * a.n + n) * a.groups + group, v);
  }, GlobalPlanes{a.xplanes});

  // Fused epilogue (Linear's own decode path): the last CTA of each 128-output range writes y.
  if (!a.fuseEpilogue) return;
  __shared__ bool isLast;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    const unsigned arrived = atomicAdd(a.counters + blockIdx.y, 1u);
    isLast = arrived == gridDim.x * gridDim.z - 1;
  }
  __syncthreads();
  if (!isLast) return;
  __threadfence();
  const int groups = (a.epi.k + a.epi.groupSize - 1) / a.epi.groupSize;
  const int actGroups = (a.epi.k + a.epi.actGroup - 1) / a.epi.actGroup;
  constexpr int kCols = kBtcWarps * kDecodeTileN;
  for (int i = threadIdx.x; i < a.m * kCols; i += kBtcThreads) {
    const int col = blockIdx.y * kCols + i % kCols;
    if (col < a.n) epilogueOutput(a.epi, i / kCols, col, groups, actGroups);
  }
  if (threadIdx.x == 0) a.counters[blockIdx.y] = 0;  // ready for the next call
}

}  // namespace abq

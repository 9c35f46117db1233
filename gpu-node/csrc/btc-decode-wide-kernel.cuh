// The BTC decode kernel for a few tokens with many activation columns (8 < M x R <= 128, M <= 16),
// its K split inside one CTA.
//
// Weights, CTA shape and tail are btc-decode-cta-kernel.cuh's: one CTA per 16-output tile (n-tiles 2c
// and 2c + 1 of the tile layout, weights as the MMA's A operand), its 8 warps split K, the sums meet in
// shared memory (sacc[M][16][G], integer atomics) and the CTA applies the epilogue. What differs is B:
// the activation columns c = token * R + plane i no longer fit one fragment of 8, so every weight
// fragment loaded feeds F MMAs, one per fragment of activation columns:
//
//   fragment f  = columns 8f .. 8f + 7 = tokens f * 8/R .. (f + 1) * 8/R - 1 (all R planes of each)
//   lane (g, t) = column 8f + g of each fragment (token f * 8/R + g / R, plane g % R); K words t and
//                 t + 4 of each 256-bit chunk, read through L1 (every CTA on an SM reads the same planes)
//   T[f][4]     = one running sum per fragment over all weight planes: plane 0's MMA accumulates into T,
//                 plane j > 0's lands in fresh registers and is added shifted left by j (wrapping u32,
//                 as every BTC kernel's sums)
//
// Why one running sum instead of a set per weight plane (the 1-fragment kernel's S[P][4], shifted once
// per flush): P sets of 4 F registers are 128 registers at P = 2, F = 16. One set is 4 F; the shift-adds
// (4 per MMA of planes j > 0) issue on the integer pipe beside the tensor pipe.
//
// Why: from M x R > 8 the split-K kernel's shape (activation rows as A, 8 weight rows as B) or the tiled
// kernel ran, 1.4-2.2x the M = 1 time for <= 4-bit weights (NOTES.md v6 step 14); here the weights are
// read once for all M tokens at the decode kernels' bytes-per-instruction.
#pragma once
#include "btc-decode-cta-kernel.cuh"

namespace abq {

/** Most activation columns (M x R) of the wide kernel: 16 fragments. */
constexpr int kDecodeWideMaxCols = 128;
/** Most tokens and weight bits it takes (the registers of T and the weights for 2 CTAs per SM). */
constexpr int kDecodeWideMaxTokens = 16;
constexpr int kDecodeWideMaxP = 4;

/** Fragments compiled for M x R columns: the next of 2, 4, 8, 16 that holds them. */
inline int decodeWideFragments(int cols) { return cols <= 16 ? 2 : cols <= 32 ? 4 : cols <= 64 ? 8 : 16; }

template <int P,   // weight bits (1..kDecodeWideMaxP)
          int R,   // activation plane columns per token (1, 2, 4, 8)
          int F>   // fragments of 8 activation columns (2, 4, 8, 16); those past M are skipped
__global__ void __launch_bounds__(kBtcThreads, 2) btcDecodeWideKernel(const BtcArgs a) {
  static_assert(P >= 1 && P <= kDecodeWideMaxP && (R == 1 || R == 2 || R == 4 || R == 8), "1..4 weight bits, R a power of two <= 8");
  static_assert(F >= 2 && F * 8 <= kDecodeWideMaxCols, "2..16 fragments");
  constexpr int kTokensPerFrag = 8 / R;
  extern __shared__ uint32_t sacc[];  // [token][output in tile][group]
  pdlLaunchDependents();  // PDL (pdl.h): the next kernel may launch; this one waits after its first weight loads
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int wTile = blockIdx.x;
  const int t0 = 2 * wTile;
  const int pairBegin = min(a.kPairs, warp * a.pairsPerSplit);
  const int pairEnd = min(a.kPairs, pairBegin + a.pairsPerSplit);
  for (int i = threadIdx.x; i < a.m * kDecodeTileN * a.groups; i += kBtcThreads) sacc[i] = 0;
  __syncthreads();  // sacc zeroed before any warp's flush

  // This lane's column in fragment f: row (plane g % R) * M + token of the planes; fragment f + 1 is
  // kTokensPerFrag tokens further. Bit f of `valid`: the column exists (plane < q, token < M).
  const int plane = g % R;
  const int xRow0 = (plane * a.m + g / R) * a.wordsPad + t;
  const int fragStride = kTokensPerFrag * a.wordsPad;
  unsigned valid = 0;
#pragma unroll
  for (int f = 0; f < F; f++)
    if (plane < a.q && f * kTokensPerFrag + g / R < a.m) valid |= 1u << f;

  uint32_t T[F][4];
#pragma unroll
  for (int f = 0; f < F; f++)
#pragma unroll
    for (int e = 0; e < 4; e++) T[f][e] = 0;
  auto add = [&](int token, int out, int group, uint32_t v) {
    atomicAdd(&sacc[(token * kDecodeTileN + out) * a.groups + group], v);  // shared: exact in any order
  };
  auto flush = [&](int group) {
#pragma unroll
    for (int f = 0; f < F; f++) {
      if (f * kTokensPerFrag >= a.m) continue;  // warp-uniform: fragments past M stay zero
      addFragmentSums<R>(T[f], f * kTokensPerFrag, a.m, group, add);
#pragma unroll
      for (int e = 0; e < 4; e++) T[f][e] = 0;
    }
  };

  GroupCursor cursor(a, pairBegin);
  constexpr bool kLookahead = P <= 2 && F <= 8;  // the next pair's weights only where registers allow
  streamDecodePairs<P, kLookahead>(a, t0, t0 + 1 < a.nTiles, pairBegin, pairEnd,
                                   [&](int pair, const uint4 (&w0)[P], const uint4 (&w1)[P]) {
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int chunk = 2 * pair + half;
      cursor.before(a, chunk, flush);
      uint32_t af[P][4];
#pragma unroll
      for (int j = 0; j < P; j++) weightFragment(af[j], w0[j], w1[j], half);
      const uint32_t* xp = a.xplanes + xRow0 + chunk * kChunkWords;
#pragma unroll
      for (int f = 0; f < F; f++) {
        if (f * kTokensPerFrag >= a.m) continue;  // warp-uniform (mma.sync needs the whole warp)
        const bool ok = (valid >> f) & 1u;
        const uint32_t b0 = ok ? ldCached(xp + f * fragStride) : 0u;
        const uint32_t b1 = ok ? ldCached(xp + f * fragStride + 4) : 0u;
        mmaAndPopcAcc(T[f], af[0], b0, b1);
#pragma unroll
        for (int j = 1; j < P; j++) {
          uint32_t d[4];
          mmaAndPopc(d, af[j], b0, b1);
#pragma unroll
          for (int e = 0; e < 4; e++) T[f][e] += d[e] << j;
        }
      }
    }
  });
  if (pairBegin < pairEnd) flush(cursor.group);
  __syncthreads();
  decodeCtaFinish(a, sacc, kDecodeTileN * wTile);
}

}  // namespace abq

// The BTC (binary tensor core) GEMM kernel: integer accumulators acc[m][n][g] over bit planes.
//
//   acc_g[m, n] = sum_i sum_j 2^(i+j) popcount(X_i[m, g] AND W_j[n, g])
//
// MMA rows are activation plane rows (token, plane i), MMA columns are weight rows of one plane j:
//
//             weight tile (8 outputs, plane j) ---> B fragment, one per j
//            +-------------------------------+
//   row 0    | token t0, plane 0             |
//   row 1    | token t0, plane 1             |   R rows per token (R = next power of 2 >= q,
//   ...      | ...  (rows i >= q are zero)   |   so the plane index is lane bits, see flush())
//   row R    | token t0+1, plane 0           |
//   ...      |                               |
//   row 15   |                               |
//            +-------------------------------+
//
// Per 256-bit chunk the warp runs, for each m-tile and each plane j, one m16n8k256 AND.POPC MMA that
// accumulates into plane j's own C registers (P MT <= 8), or with C = 0 folded in as S += D << j
// (wider variants, where P accumulator sets would not fit). At a weight group boundary (and at the
// end of the warp's K slice) flush() applies the 2^j weights, weights each row by 2^i, sums the R
// rows of a token with xor-shuffles across lanes, and adds the group's partial to acc with an integer
// atomicAdd: K may be split across CTAs, and integer addition makes the result exact and identical
// from run to run whatever the order.
//
// Grid: x = token blocks (fastest, so CTAs that share a weight slice run together and hit L2),
//       y = groups of kWarps n-tiles (one n-tile per warp), z = K splits. No shared memory: every
//       warp of a CTA reads the same activation words through L1.
// Counts are u32 and wrap; acc_g <= 255 * 255 * K stays below 2^32 for K <= 66051 (checked on the host).
#pragma once
#include <climits>

#include "btc-epilogue.cuh"
#include "btc-layout.cuh"
#include "ptx.cuh"

namespace abq {

constexpr int kBtcWarps = 8;                 // n-tiles per CTA
constexpr int kBtcThreads = kBtcWarps * 32;
// Resident CTAs per SM the register budget must allow (memory-bound decode wants many warps in
// flight): 4 CTAs = 64 registers, 3 = 85, 2 = 128. B fragments (with lookahead) take 8P registers.
template <int P, int MT> constexpr int kBtcMinCtas = MT == 1 && P <= 6 ? 3 : 2;

struct BtcArgs {
  const uint4* wtile;        // tile layout, see btc-layout.cuh
  const uint32_t* xplanes;   // u32 [q][M][wordsPad] activation planes (wordsPad = 16 * kPairs)
  uint32_t* acc;             // u32 [M][N][groups], zeroed before the launch
  int m, n, q;
  int nTiles, kPairs, wordsPad;
  int groups, groupChunks;   // weight groups; chunks (256 bits) per group
  int pairsPerSplit;         // K pairs per CTA along grid z (every z slice is non-empty)
  unsigned* counters;        // [gridDim.y] arrivals per n-range; the last CTA resets its counter
  int fuseEpilogue;          // 1: the last CTA of each n-range applies the epilogue (decode)
  EpilogueArgs epi;
  int finishF32;             // 1: the CTA-local decode kernel applies epi32 (f32 outputs) instead of storing acc
  EpiF32Args epi32;
};

template <int P,   // weight bits = number of B fragments per chunk (1..8)
          int R,   // MMA rows per token: next power of two >= activation bits (1, 2, 4, 8)
          int MT>  // m-tiles per warp: tokens per CTA = MT * 16 / R
__global__ void __launch_bounds__(kBtcThreads, kBtcMinCtas<P, MT>) btcGemmKernel(const BtcArgs a) {
  static_assert(P >= 1 && P <= 8, "weight bits 1..8");
  static_assert(R == 1 || R == 2 || R == 4 || R == 8, "rows per token is a power of two <= 8");
  constexpr int kTokensPerCta = MT * kTileM / R;

  // PDL (pdl.h): the next kernel may launch now; this one waits for the previous kernel's outputs
  // (activation planes, zeroed accumulators) only after its first weight loads are in flight.
  pdlLaunchDependents();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int nTile = blockIdx.y * kBtcWarps + warp;
  const bool active = nTile < a.nTiles;  // warps past N idle but still reach the fused tail's barriers
  const int pairBegin = blockIdx.z * a.pairsPerSplit;
  const int pairEnd = active ? min(a.kPairs, pairBegin + a.pairsPerSplit) : pairBegin;
  const int tokenBase = blockIdx.x * kTokensPerCta;

  // Word offsets of this lane's two A rows per m-tile (-1: a padding row, which reads as zero).
  // 32-bit offsets instead of pointers: half the registers (q M wordsPad < 2^31 is checked on the host).
  int aRow[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; mt++) {
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int rr = mt * kTileM + g + 8 * h;
      const int token = tokenBase + rr / R, plane = rr % R;
      aRow[mt][h] = (plane < a.q && token < a.m) ? (plane * a.m + token) * a.wordsPad + t : -1;
    }
  }

  // Accumulators: one set per weight plane j where they fit (P MT <= 8 sets of 4), so every MMA adds
  // into its own C registers and the 2^j weights cost one shift per flush; otherwise one set and
  // S += D << j after every MMA (4 integer ops per MMA, a large share of the decode instructions).
  constexpr bool kPlaneAcc = P * MT <= 8;
  constexpr int kSets = kPlaneAcc ? P : 1;
  uint32_t S[MT][kSets][4];
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int j = 0; j < kSets; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) S[mt][j][e] = 0;

  // flush: 2^i weighting, sum over the R plane rows of each token (lane bits 2..), atomic add.
  auto flush = [&](int group) {
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int rr = mt * kTileM + g + 8 * (e >> 1);
        const int plane = rr % R;
        uint32_t v = 0;
#pragma unroll
        for (int j = 0; j < kSets; j++) {
          v += S[mt][j][e] << j;  // wrapping u32, the same sum as S += D << j per MMA
          S[mt][j][e] = 0;
        }
        v <<= plane;
#pragma unroll
        for (int off = 4; off < 4 * R; off <<= 1) v += __shfl_xor_sync(kFullMask, v, off);
        const int token = tokenBase + rr / R;
        const int n = nTile * kTileN + 2 * t + (e & 1);
        if (plane == 0 && token < a.m && n < a.n && v != 0)
          atomicAdd(a.acc + (static_cast<size_t>(token) * a.n + n) * a.groups + group, v);
      }
    }
  };

  int group = min((2 * pairBegin) / a.groupChunks, a.groups - 1);
  // First chunk of the next group (a counter, not a division per chunk: the division was a large share
  // of the decode kernel's instructions, NOTES.md v6e); groups advance one at a time along K.
  int nextBoundary = group + 1 < a.groups ? (group + 1) * a.groupChunks : INT_MAX;
  // One K pair (two 256-bit chunks) of MMAs for all m-tiles and planes.
  auto computePair = [&](int pair, const uint4 (&b)[P]) {
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int chunk = 2 * pair + half;
      if (chunk >= nextBoundary) {
        flush(group);
        group++;
        nextBoundary = group + 1 < a.groups ? nextBoundary + a.groupChunks : INT_MAX;
      }
      const int w0 = chunk * kChunkWords;
#pragma unroll
      for (int mt = 0; mt < MT; mt++) {
        const uint32_t a0 = aRow[mt][0] >= 0 ? ldCached(a.xplanes + aRow[mt][0] + w0) : 0u;
        const uint32_t a1 = aRow[mt][1] >= 0 ? ldCached(a.xplanes + aRow[mt][1] + w0) : 0u;
        const uint32_t a2 = aRow[mt][0] >= 0 ? ldCached(a.xplanes + aRow[mt][0] + w0 + 4) : 0u;
        const uint32_t a3 = aRow[mt][1] >= 0 ? ldCached(a.xplanes + aRow[mt][1] + w0 + 4) : 0u;
#pragma unroll
        for (int j = 0; j < P; j++) {
          const uint32_t b0 = half ? b[j].z : b[j].x, b1 = half ? b[j].w : b[j].y;
          if constexpr (kPlaneAcc) {
            const uint32_t af[4] = {a0, a1, a2, a3};
            mmaAndPopcAcc(S[mt][j], af, b0, b1);
          } else {
            int d[4];
            mmaAndPopc(d, a0, a1, a2, a3, b0, b1);
#pragma unroll
            for (int e = 0; e < 4; e++) S[mt][0][e] += static_cast<uint32_t>(d[e]) << j;
          }
        }
      }
    }
  };

  // Weight streaming (16 B per lane per plane, read once, so they bypass L1). Enough bytes must be
  // in flight per warp: with few planes, kBatch pairs are loaded together before any MMA; with many,
  // one pair of lookahead overlaps the next loads with this pair's MMAs. With several m-tiles the
  // MMAs of the other warps hide the latency instead (registers go to the accumulators).
  constexpr int kBatch = MT == 1 && P == 4 ? 2 : 1;  // measured: batching helped P=4, hurt P=2 and 3
  constexpr bool kLookahead = kBatch == 1 && (MT == 1 || 8 * P + 4 * MT <= 40);
  const uint4* wp = a.wtile + (static_cast<size_t>(nTile) * a.kPairs + pairBegin) * P * kLanes + lane;
  if constexpr (kBatch > 1) {
    pdlWait();
#pragma unroll 1
    for (int pair = pairBegin; pair < pairEnd; pair += kBatch, wp += kBatch * P * kLanes) {
      uint4 b[kBatch][P];
#pragma unroll
      for (int u = 0; u < kBatch; u++)
#pragma unroll
        for (int j = 0; j < P; j++) b[u][j] = pair + u < pairEnd ? ldStream(wp + (u * P + j) * kLanes) : make_uint4(0, 0, 0, 0);
#pragma unroll
      for (int u = 0; u < kBatch; u++)
        if (pair + u < pairEnd) computePair(pair + u, b[u]);
    }
  } else {
    uint4 b[P];
#pragma unroll
    for (int j = 0; j < P; j++) b[j] = pairBegin < pairEnd ? ldStream(wp + j * kLanes) : make_uint4(0, 0, 0, 0);
    pdlWait();
#pragma unroll 1
    for (int pair = pairBegin; pair < pairEnd; pair++) {
      wp += P * kLanes;
      uint4 next[P];
      if constexpr (kLookahead) {
        if (pair + 1 < pairEnd) {
#pragma unroll
          for (int j = 0; j < P; j++) next[j] = ldStream(wp + j * kLanes);
        }
      }
      computePair(pair, b);
      if constexpr (kLookahead) {
#pragma unroll
        for (int j = 0; j < P; j++) b[j] = next[j];
      } else if (pair + 1 < pairEnd) {
#pragma unroll
        for (int j = 0; j < P; j++) b[j] = ldStream(wp + j * kLanes);
      }
    }
  }
  if (active) flush(group);

  // Fused epilogue (threadFenceReduction pattern): publish this CTA's atomics, count arrivals per
  // n-range; the last CTA to arrive sees every partial sum and writes y for its 64 outputs.
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
  constexpr int kCols = kBtcWarps * kTileN;
  for (int i = threadIdx.x; i < a.m * kCols; i += kBtcThreads) {
    const int col = blockIdx.y * kCols + i % kCols;
    if (col < a.n) epilogueOutput(a.epi, i / kCols, col, groups, actGroups);
  }
  if (threadIdx.x == 0) a.counters[blockIdx.y] = 0;  // ready for the next call
}

}  // namespace abq

// The CTA-local decode GEMV for one token that prepares its own activations (the engine's batch-1 decode).
//
// btc-decode-cta-kernel.cuh reads activation planes that a separate prep kernel wrote: RMSNorm, the
// per-token range, quantize, pack, code sums, on a cluster of 8 SMs with two cluster barriers. At batch
// 1 that kernel is a chain of dependent steps (~10 us per call under ncu, four per layer: NOTES.md
// engine E3), longer than the GEMV it feeds. Here every CTA derives the planes itself from the f32 row
// (K <= 16384: up to 64 KB through L2), after its first weight loads are in flight:
//
//   prologue  row[K] f32 (shared) = x, RMSNorm(x) * w in f64 rounded once (shared/model/norm.ts), or
//             silu(x) * up in f64 rounded once (shared/model/mlp.ts; down_proj's input)
//             range over the row -> groupParams -> quantCode per element (act-quant-numerics.cuh)
//             planes[q][wordsPad] (shared): lane l of warp w packs element 32 w + l, one ballot per plane
//             sums[G] (shared): code sums per weight group; scale and zero of the token (shared)
//   tiles     the CTA's warps split K as in the CTA-local kernel, reading B from the shared planes; the
//             CTA takes tiles blockIdx.x, + gridDim.x, ... (grid = the CTAs resident at once) so the
//             prologue runs once per CTA, not once per 16 outputs
//   epilogue  the engine's f32 epilogue (+ residual) with the token's parameters from shared memory
//
// The redundancy (every CTA quantizes the same row) costs ~1-2 us of one SM per CTA, overlapped with the
// weight stream (SwiGLU's 11,008 f64 exps more: ~3-5 us); in exchange the prep launch and its cluster
// barriers leave the critical path.
// Numerics are the prep kernel's: the norm's f64 sum of squares (summed in a different tree order; the
// squares of f32 values are exact in f64, only f64 roundings differ), then one f32 rounding; the
// quantizer's chain of single correctly rounded f32 operations (bit for bit the reference's).
#pragma once
#include "act-quant-numerics.cuh"
#include "btc-decode-cta-kernel.cuh"
#include "decode-prep-args.h"

namespace abq {

/** Largest K the fused-prep kernel holds (its row in shared memory). */
constexpr int kDecodePrepMaxK = 16384;
/** Dynamic shared memory it may take (opted in per kernel at its first launch): K = 16384 at 8 bits fits. */
constexpr size_t kDecodePrepMaxSmemBytes = 96 * 1024;

/** Shared words of the fused-prep kernel: sacc[16][G], row f32 [K], planes u32 [q][wordsPad], sums u32 [G]. */
inline size_t decodePrepSmemWords(int groups, int k, int q, int wordsPad) {
  return static_cast<size_t>(kDecodeTileN) * groups + k + static_cast<size_t>(q) * wordsPad + groups;
}

/** Sum over the CTA in a fixed order (warp trees, then the warps' partials in warp order): the same in every CTA. */
__device__ __forceinline__ double ctaSumF64(double v, double* slots) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) slots[threadIdx.x / 32] = v;
  __syncthreads();
  double s = 0;
  for (int w = 0; w < kBtcWarps; w++) s += slots[w];
  __syncthreads();  // slots free again
  return s;
}

__device__ __forceinline__ void ctaMinMax(float& mn, float& mx, float* slotMn, float* slotMx) {
  for (int o = 16; o > 0; o >>= 1) {
    mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  }
  if (threadIdx.x % 32 == 0) { slotMn[threadIdx.x / 32] = mn; slotMx[threadIdx.x / 32] = mx; }
  __syncthreads();
  for (int w = 0; w < kBtcWarps; w++) { mn = fminf(mn, slotMn[w]); mx = fmaxf(mx, slotMx[w]); }
}

template <int P,   // weight bits (1..8)
          int R>   // activation plane columns of the token (1, 2, 4, 8)
__global__ void __launch_bounds__(kBtcThreads, P <= 4 ? 3 : 2) btcDecodePrepKernel(const BtcArgs a, const DecodePrepArgs pa) {
  static_assert(P >= 1 && P <= 8 && (R == 1 || R == 2 || R == 4 || R == 8), "1..8 weight bits, R a power of two <= 8");
  extern __shared__ uint32_t smem[];
  __shared__ double ssSlots[kBtcWarps];
  __shared__ float mnSlots[kBtcWarps], mxSlots[kBtcWarps];
  __shared__ float xScale;
  __shared__ uint8_t xZero;
  const int k = a.epi32.k, groups = a.groups;
  uint32_t* sacc = smem;                                       // [16][G]
  float* row = reinterpret_cast<float*>(sacc + kDecodeTileN * groups);  // [K]
  uint32_t* planes = reinterpret_cast<uint32_t*>(row + k);     // [q][wordsPad]
  uint32_t* sums = planes + pa.bits * a.wordsPad;              // [G]
  pdlLaunchDependents();  // PDL (pdl.h): the next kernel may launch; this one waits after its first weight loads

  // The token's planes, scale, zero and code sums, into shared memory (every thread; barriers inside).
  auto prepareRow = [&]() {
    double ss = 0;
    for (int i = threadIdx.x; i < k; i += kBtcThreads) {
      float v = pa.x[i];
      if (pa.up) {  // SwiGLU, as the prep kernel: silu in f64, times up, one rounding
        const double g = v;
        v = static_cast<float>(g / (1.0 + exp(-g)) * static_cast<double>(pa.up[i]));
      }
      row[i] = v;
      ss += static_cast<double>(v) * v;
    }
    if (pa.normW) {
      ss = ctaSumF64(ss, ssSlots);
      const double inv = 1.0 / sqrt(ss / k + pa.eps);
      for (int i = threadIdx.x; i < k; i += kBtcThreads)
        row[i] = static_cast<float>(static_cast<double>(row[i]) * inv * static_cast<double>(pa.normW[i]));
    }
    float mn = INFINITY, mx = -INFINITY;
    for (int i = threadIdx.x; i < k; i += kBtcThreads) { mn = fminf(mn, row[i]); mx = fmaxf(mx, row[i]); }
    for (int g = threadIdx.x; g < groups; g += kBtcThreads) sums[g] = 0;
    ctaMinMax(mn, mx, mnSlots, mxSlots);  // its barrier also publishes row[] and the zeroed sums
    const int qmax = (1 << pa.bits) - 1;
    const GroupParams gp = groupParams(mn, mx, qmax);
    const int lane = threadIdx.x % 32;
    for (int w = threadIdx.x / 32; w < a.wordsPad; w += kBtcWarps) {
      const int i = 32 * w + lane;
      const uint32_t code = i < k ? quantCode(row[i], gp.inv, static_cast<float>(gp.zero), static_cast<float>(qmax)) : 0u;
      for (int b = 0; b < pa.bits; b++) {
        const uint32_t word = __ballot_sync(0xffffffffu, (code >> b) & 1u);
        if (lane == 0) planes[b * a.wordsPad + w] = word;
      }
      const uint32_t s = __reduce_add_sync(0xffffffffu, code);
      if (lane == 0 && 32 * w < k) atomicAdd(&sums[(32 * w) / pa.sumGroup], s);
    }
    if (threadIdx.x == 0) { xScale = gp.scale; xZero = static_cast<uint8_t>(gp.zero); }
    __syncthreads();
  };

  EpiF32Args e = a.epi32;  // the token's activation parameters are this CTA's
  e.xScales = &xScale;
  e.xZeros = &xZero;
  e.xSums = sums;
  const int warp = threadIdx.x / 32;
  const int pairBegin = min(a.kPairs, warp * a.pairsPerSplit);
  const int pairEnd = min(a.kPairs, pairBegin + a.pairsPerSplit);
  const int wTiles = (a.nTiles + 1) / 2;
  bool first = true;
  for (int wTile = blockIdx.x; wTile < wTiles; wTile += gridDim.x) {
    const int t0 = 2 * wTile;
    for (int i = threadIdx.x; i < kDecodeTileN * groups; i += kBtcThreads) sacc[i] = 0;
    if (!first) __syncthreads();  // zeroed before any flush (the first tile: the prologue's barriers order it)
    decodeWarpAccumulate<P, R>(a, t0, t0 + 1 < a.nTiles, pairBegin, pairEnd, [&](int token, int out, int group, uint32_t v) {
      atomicAdd(&sacc[(token * kDecodeTileN + out) * groups + group], v);  // shared: exact in any order
    }, [&](int offset) { return planes[offset]; }, [&]() { if (first) prepareRow(); });
    __syncthreads();
    decodeCtaFinishF32(a, e, sacc, kDecodeTileN * wTile);
    __syncthreads();  // sacc read before the next tile zeroes it
    first = false;
  }
}

}  // namespace abq

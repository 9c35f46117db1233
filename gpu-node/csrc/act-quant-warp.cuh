// Activation quantize + pack, whole warps per token, one plane word per lane (any M: one CTA of 8 warps
// for a single token, one warp per token from ~2k tokens on).
//
// act-quant.cu's row-slice kernel (one CTA per token, a ballot per plane per word, an integer division
// per element) was instruction-bound at large M (106 us for M = 2048, K = 8192, SM 74% busy, DRAM 10%).
// Here every lane owns whole words, so the packing is register arithmetic, no ballots:
//
//   CTA = 8 warps = 8 / kWpt tokens; warp `part` of a token owns words w = lane + 32 (part + kWpt c).
//   word w = elements [32w, 32w + 32) = 4 16-byte loads of 8 halves (rows are 16-byte aligned: K % 8 == 0)
//
//   pass 1: min/max of the token (half2 min/max, then float; warps of one token meet in shared memory)
//   pass 2: per word, 32 codes -> 4 groups of 8 bytes -> an 8x8 bit transpose per group (byte b of the
//           result = bit b of the 8 codes, LSB-first) -> byte permutes gather plane word b from the 4
//           groups. Lane l writes word w of every plane: 128 coalesced bytes per plane per warp.
//           Code sums come from the plane words: sum = sum_b popc(word_b) << b.
//
// The row is read twice (the second pass mostly from L1/L2). Per-token activation groups only; the
// code sums per weight group need whole, aligned groups of words within a 32-word chunk (weight
// groups of 32 * 2^j elements up to 1024) or per channel. Other cases take act-quant.cu's kernel.
#pragma once
#include <cuda_fp16.h>
#include <cstdint>

#include "act-quant-numerics.cuh"

namespace abq {

constexpr int kAqWarps = 8;                   // warps per CTA
constexpr int kAqThreads = kAqWarps * 32;
constexpr int kAqHalvesPerLoad = 8;           // one 16-byte load
constexpr int kAqLoadsPerWord = 32 / kAqHalvesPerLoad;
constexpr int kAqMaxSumWords = 32;            // largest weight group, in words, summed within a warp
constexpr unsigned kAqFullMask = 0xffffffffu;

struct ActQuantWarpArgs {
  const __half* x;        // [M][K], K % 8 == 0
  int m, k, bits;
  int wordsPad;           // plane row stride; words past ceil(K/32) are written as zero
  int logWordsPerSum;     // log2(weight group / 32) when groupsS > 1 (group <= 1024); unused per channel
  int groupsS;            // code-sum groups per token (1: per channel)
  uint32_t* planes;       // [bits][M][wordsPad]
  float* scales;          // [M]
  uint8_t* zeros;         // [M]
  uint32_t* sums;         // [M][groupsS]
};

/**
 * 8x8 bit transpose of 8 codes (byte e of lo:hi = code e) in place: afterwards byte b holds bit b of
 * every code, code e at bit e (Hacker's Delight transpose8 on two 32-bit halves).
 */
__device__ __forceinline__ void transposeBits8x8(uint32_t& lo, uint32_t& hi) {
  uint32_t t = (lo ^ (lo >> 7)) & 0x00AA00AAu; lo ^= t ^ (t << 7);
  t = (hi ^ (hi >> 7)) & 0x00AA00AAu; hi ^= t ^ (t << 7);
  t = (lo ^ (lo >> 14)) & 0x0000CCCCu; lo ^= t ^ (t << 14);
  t = (hi ^ (hi >> 14)) & 0x0000CCCCu; hi ^= t ^ (t << 14);
  t = ((lo >> 4) ^ hi) & 0x0F0F0F0Fu; hi ^= t; lo ^= t << 4;
}

/** out[b] = byte b of in[0], in[1], in[2], in[3] as bytes 0..3 (a 4x4 byte transpose). */
__device__ __forceinline__ void transposeBytes4x4(const uint32_t (&in)[4], uint32_t (&out)[4]) {
  const uint32_t a = __byte_perm(in[0], in[1], 0x5140), b = __byte_perm(in[0], in[1], 0x7362);
  const uint32_t c = __byte_perm(in[2], in[3], 0x5140), d = __byte_perm(in[2], in[3], 0x7362);
  out[0] = __byte_perm(a, c, 0x5410); out[1] = __byte_perm(a, c, 0x7632);
  out[2] = __byte_perm(b, d, 0x5410); out[3] = __byte_perm(b, d, 0x7632);
}

/** kWpt: warps per token (1, 2, 4, 8): more for fewer tokens, so the grid still fills the GPU. */
template <int kWpt>
__global__ void __launch_bounds__(kAqThreads, 2) actQuantWarpKernel(const ActQuantWarpArgs a) {
  constexpr int kTokensPerCta = kAqWarps / kWpt;
  __shared__ float redMin[kAqWarps], redMax[kAqWarps];
  __shared__ uint32_t redSum[kAqWarps];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int slot = warp / kWpt, part = warp % kWpt;
  const int token = blockIdx.x * kTokensPerCta + slot;
  const bool valid = token < a.m;  // no early return: the warps of a CTA meet at barriers
  const uint4* row = reinterpret_cast<const uint4*>(a.x + static_cast<size_t>(valid ? token : 0) * a.k);
  const int vecs = valid ? a.k / kAqHalvesPerLoad : 0;
  const int chunks = (a.wordsPad + 32 * kWpt - 1) / (32 * kWpt);  // same count for every lane

  // 1. Range of the token.
  __half2 mn2 = __float2half2_rn(INFINITY), mx2 = __float2half2_rn(-INFINITY);
#pragma unroll 2
  for (int c = 0; c < chunks; c++) {
    const int w = lane + 32 * (part + kWpt * c);
#pragma unroll
    for (int u = 0; u < kAqLoadsPerWord; u++) {
      const int v = kAqLoadsPerWord * w + u;
      if (v < vecs) {
        const uint4 q = __ldg(row + v);
        const __half2* h = reinterpret_cast<const __half2*>(&q);
#pragma unroll
        for (int e = 0; e < 4; e++) { mn2 = __hmin2(mn2, h[e]); mx2 = __hmax2(mx2, h[e]); }
      }
    }
  }
  float mn = fminf(__low2float(mn2), __high2float(mn2)), mx = fmaxf(__low2float(mx2), __high2float(mx2));
  for (int off = 16; off > 0; off >>= 1) {
    mn = fminf(mn, __shfl_xor_sync(kAqFullMask, mn, off));
    mx = fmaxf(mx, __shfl_xor_sync(kAqFullMask, mx, off));
  }
  if constexpr (kWpt > 1) {
    if (lane == 0) { redMin[warp] = mn; redMax[warp] = mx; }
    __syncthreads();
    for (int p = 0; p < kWpt; p++) { mn = fminf(mn, redMin[slot * kWpt + p]); mx = fmaxf(mx, redMax[slot * kWpt + p]); }
  }
  const int qmax = (1 << a.bits) - 1;
  const GroupParams gp = groupParams(mn, mx, qmax);
  const float zeroF = static_cast<float>(gp.zero), qmaxF = static_cast<float>(qmax);
  if (valid && part == 0 && lane == 0) {
    a.scales[token] = gp.scale;
    a.zeros[token] = static_cast<uint8_t>(gp.zero);
  }

  // 2. Codes -> plane words -> global; code sums.
  const int wordsPerSum = 1 << a.logWordsPerSum;
  uint32_t tokenSum = 0;
#pragma unroll 1
  for (int c = 0; c < chunks; c++) {
    const int w = lane + 32 * (part + kWpt * c);
    uint32_t lo[kAqLoadsPerWord], hi[kAqLoadsPerWord];
#pragma unroll
    for (int u = 0; u < kAqLoadsPerWord; u++) {
      const int v = kAqLoadsPerWord * w + u;
      lo[u] = hi[u] = 0;  // elements past K (and padding words) are code 0 in every plane
      if (v < vecs) {
        const uint4 q = __ldg(row + v);
        const __half2* h = reinterpret_cast<const __half2*>(&q);
        uint32_t code[8];
#pragma unroll
        for (int e = 0; e < 4; e++) {
          const float2 f = __half22float2(h[e]);
          code[2 * e] = quantCode(f.x, gp.inv, zeroF, qmaxF);
          code[2 * e + 1] = quantCode(f.y, gp.inv, zeroF, qmaxF);
        }
        lo[u] = __byte_perm(__byte_perm(code[0], code[1], 0x0040), __byte_perm(code[2], code[3], 0x0040), 0x5410);
        hi[u] = __byte_perm(__byte_perm(code[4], code[5], 0x0040), __byte_perm(code[6], code[7], 0x0040), 0x5410);
        transposeBits8x8(lo[u], hi[u]);
      }
    }
    uint32_t planeLo[4], planeHi[4];  // plane words 0-3 and 4-7
    transposeBytes4x4(lo, planeLo);
    transposeBytes4x4(hi, planeHi);
    uint32_t wordSum = 0;
#pragma unroll
    for (int b = 0; b < 8; b++) {
      const uint32_t word = b < 4 ? planeLo[b] : planeHi[b - 4];
      if (b < a.bits) {
        if (valid && w < a.wordsPad) a.planes[(static_cast<size_t>(b) * a.m + token) * a.wordsPad + w] = word;
        wordSum += static_cast<uint32_t>(__popc(word)) << b;
      }
    }
    if (a.groupsS == 1) {
      tokenSum += wordSum;
    } else {  // whole groups of wordsPerSum lanes (aligned: chunks start at multiples of 32 words)
      for (int off = 1; off < wordsPerSum; off <<= 1) wordSum += __shfl_xor_sync(kAqFullMask, wordSum, off);
      const int group = w >> a.logWordsPerSum;
      if (valid && (lane & (wordsPerSum - 1)) == 0 && group < a.groupsS)
        a.sums[static_cast<size_t>(token) * a.groupsS + group] = wordSum;
    }
  }
  if (a.groupsS == 1) {
    tokenSum = __reduce_add_sync(kAqFullMask, tokenSum);
    if constexpr (kWpt > 1) {
      if (lane == 0) redSum[warp] = tokenSum;
      __syncthreads();
      if (part == 0) {
        tokenSum = 0;
        for (int p = 0; p < kWpt; p++) tokenSum += redSum[slot * kWpt + p];
      }
    }
    if (valid && part == 0 && lane == 0) a.sums[token] = tokenSum;
  }
}

}  // namespace abq

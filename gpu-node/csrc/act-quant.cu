// Fused activation quantize + bit-plane pack. Two kernels: act-quant-warp.cuh's (warps per token,
// packing in registers) wherever it applies (per-token activation groups, K % 8 == 0, weight groups
// per channel or 32 * 2^j <= 1024), and the row-slice kernel below for the rest (activation groups,
// odd K, other weight groups): grid (tokens, slices of the row's words).
//
// Reproduces shared/numerics/act-quant.ts bit for bit: every step is one IEEE f32 operation with
// round-to-nearest (the __f*_rn intrinsics stop nvcc from contracting them into FMAs), and rintf
// rounds half to even like the reference's roundHalfEven.
//
// Layout (global):
//   x      fp16 [M][K]                    read twice (min/max pass, pack pass); the row stays in L1/L2
//   planes u32  [bits][M][wordsPad]       plane b, token m: bit (k % 32) of word k / 32 = bit b of code k
//   scales f32  [M][groupsA], zeros u8 [M][groupsA], sums u32 [M][groupsS]
// Every CTA reads its token's whole row for the range (cheap: L2), then packs only its slice of the
// words, so a single token (decode) still spreads over many SMs. Code sums add into `sums` with
// global integer atomics (zeroed by the host entry first): exact, order-independent.
// Packing: a warp owns 32 consecutive elements (one word); lane l quantizes element 32w + l and
// __ballot_sync over bit b of the codes *is* plane word b (lane l -> bit l: LSB-first, as the format).
// Shared: the token's row of x (fp16, filled by the first pass with 16-byte loads, so the second
// pass reads shared memory instead of waiting on global loads one after another), inv/zero/scale per
// activation group and the code sums per weight group (integer atomics, so the sums are exact and
// independent of scheduling).
#include "act-quant.cuh"
#include "act-quant-numerics.cuh"
#include "act-quant-warp.cuh"
#include "cuda-check.cuh"

#include <algorithm>

namespace abq {
namespace {

constexpr int kThreads = 256;             // 8 warps per token
constexpr int kWarps = kThreads / 32;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kHalvesPerLoad = 8;           // one 16-byte load
constexpr int kLoadUnroll = 4;              // loads in flight per thread in the first pass
constexpr size_t kMaxSmem = 200 * 1024;     // of the 227 KB an H100 CTA may use
constexpr int kTargetCtasPerSm = 2;         // slices: enough CTAs to cover the SMs for small M
constexpr int kMinWordsPerSlice = 16;       // 2 words per warp at least

__device__ __forceinline__ void warpMinMax(float& mn, float& mx) {
  for (int off = 16; off > 0; off >>= 1) {
    mn = fminf(mn, __shfl_xor_sync(kFullMask, mn, off));
    mx = fmaxf(mx, __shfl_xor_sync(kFullMask, mx, off));
  }
}

__global__ void __launch_bounds__(kThreads) actQuantPackKernel(
    const __half* __restrict__ x,  // [M][K]
    int m, int k, int bits,
    int actGroup, int groupsA,     // activation groups (groupsA == 1: per token)
    int sumGroup, int groupsS,     // weight groups, for the code sums
    int words, int wordsPad,
    uint32_t* __restrict__ planes, float* __restrict__ scales, uint8_t* __restrict__ zeros,
    uint32_t* __restrict__ sums) {
  extern __shared__ __align__(16) unsigned char smem[];
  __half* sX = reinterpret_cast<__half*>(smem);        // [kPad]: the row, kPad = K rounded up to 8
  const int kPad = (k + kHalvesPerLoad - 1) / kHalvesPerLoad * kHalvesPerLoad;
  float* sScale = reinterpret_cast<float*>(sX + kPad);  // [groupsA]
  float* sInv = sScale + groupsA;                      // [groupsA]
  int* sZero = reinterpret_cast<int*>(sInv + groupsA); // [groupsA]
  unsigned* sSum = reinterpret_cast<unsigned*>(sZero + groupsA);  // [groupsS]
  __shared__ float redMin[kWarps], redMax[kWarps];

  const int row = blockIdx.x;
  const int wordsPerSlice = (wordsPad + gridDim.y - 1) / gridDim.y;
  const int wBegin = blockIdx.y * wordsPerSlice, wEnd = min(wordsPad, wBegin + wordsPerSlice);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int qmax = (1 << bits) - 1;
  const __half* xr = x + static_cast<size_t>(row) * k;

  for (int g = threadIdx.x; g < groupsS; g += kThreads) sSum[g] = 0;

  // 1. Row -> shared memory (16-byte loads when rows are 16-byte aligned), with the per-token range.
  float mn = INFINITY, mx = -INFINITY;
  if (k % kHalvesPerLoad == 0) {
    const uint4* src = reinterpret_cast<const uint4*>(xr);
    uint4* dst = reinterpret_cast<uint4*>(sX);
    const int vecs = k / kHalvesPerLoad;
#pragma unroll kLoadUnroll
    for (int v = threadIdx.x; v < vecs; v += kThreads) {
      const uint4 u = __ldg(src + v);
      dst[v] = u;
      const __half2* h = reinterpret_cast<const __half2*>(&u);
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const float2 f = __half22float2(h[e]);
        mn = fminf(mn, fminf(f.x, f.y));
        mx = fmaxf(mx, fmaxf(f.x, f.y));
      }
    }
  } else {
#pragma unroll kLoadUnroll
    for (int i = threadIdx.x; i < k; i += kThreads) {
      const __half h = xr[i];
      sX[i] = h;
      mn = fminf(mn, __half2float(h));
      mx = fmaxf(mx, __half2float(h));
    }
  }
  __syncthreads();

  // Range of each activation group -> scale, 1/scale, zero.
  if (groupsA == 1) {
    warpMinMax(mn, mx);
    if (lane == 0) { redMin[warp] = mn; redMax[warp] = mx; }
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < kWarps; w++) { mn = fminf(mn, redMin[w]); mx = fmaxf(mx, redMax[w]); }
      const GroupParams p = groupParams(mn, mx, qmax);
      sScale[0] = p.scale; sInv[0] = p.inv; sZero[0] = p.zero;
    }
  } else {
    for (int g = warp; g < groupsA; g += kWarps) {
      const int k0 = g * actGroup, k1 = min(k, k0 + actGroup);
      float gmn = INFINITY, gmx = -INFINITY;
      for (int i = k0 + lane; i < k1; i += 32) {
        const float v = __half2float(sX[i]);
        gmn = fminf(gmn, v);
        gmx = fmaxf(gmx, v);
      }
      warpMinMax(gmn, gmx);
      if (lane == 0) {
        const GroupParams p = groupParams(gmn, gmx, qmax);
        sScale[g] = p.scale; sInv[g] = p.inv; sZero[g] = p.zero;
      }
    }
  }
  __syncthreads();

  // 2. Codes -> plane words by ballot; code sums per weight group.
  for (int w = wBegin + warp; w < wEnd; w += kWarps) {
    const int i = w * 32 + lane;
    uint32_t code = 0;  // padding elements are 0 in every plane
    if (i < k) {
      const int ag = i / actGroup;
      code = quantCode(__half2float(sX[i]), sInv[ag], static_cast<float>(sZero[ag]), static_cast<float>(qmax));
    }
    for (int b = 0; b < bits; b++) {
      const uint32_t word = __ballot_sync(kFullMask, (code >> b) & 1u);
      if (lane == b) planes[(static_cast<size_t>(b) * m + row) * wordsPad + w] = word;
    }
    const uint32_t s = __reduce_add_sync(kFullMask, code);
    if (lane == 0 && w < words) atomicAdd(&sSum[(w * 32) / sumGroup], s);
  }
  __syncthreads();

  if (blockIdx.y == 0) {
    for (int g = threadIdx.x; g < groupsA; g += kThreads) {
      scales[static_cast<size_t>(row) * groupsA + g] = sScale[g];
      zeros[static_cast<size_t>(row) * groupsA + g] = static_cast<uint8_t>(sZero[g]);
    }
  }
  for (int g = threadIdx.x; g < groupsS; g += kThreads)
    if (sSum[g]) atomicAdd(&sums[static_cast<size_t>(row) * groupsS + g], sSum[g]);
}

// act-quant-warp.cuh's kernel (whole warps per token) wherever its layout applies, from one token on:
// at M = 1 the row-slice kernel below (16 CTAs each re-reading the row, plus a memset of the sums)
// measured 7-9 us for K = 4096-28672, where one CTA of 8 warps needs one launch and no memset.
constexpr int kWarpKernelWarpsPerSm = 16;  // warps the grid should give each SM

template <int kWpt>
void launchWarpKernel(const ActQuantWarpArgs& args, cudaStream_t stream) {
  constexpr int tokensPerCta = kAqWarps / kWpt;
  actQuantWarpKernel<kWpt><<<(args.m + tokensPerCta - 1) / tokensPerCta, kAqThreads, 0, stream>>>(args);
  CUDA_CHECK_LAUNCH("actQuantWarpKernel");
}

/** Runs the warp-per-token kernel and returns true, or returns false when it does not apply. */
bool tryWarpKernel(const __half* x, int m, int k, int bits, int groupsA, int sumGroup, int groupsS, int smCount,
                   const ActQuantOut& out, cudaStream_t stream) {
  if (groupsA != 1 || k % kAqHalvesPerLoad != 0) return false;
  int logWordsPerSum = 0;
  if (groupsS > 1) {  // weight groups of 32 * 2^j elements, at most one 32-word chunk
    while ((32 << logWordsPerSum) < sumGroup) logWordsPerSum++;
    if ((32 << logWordsPerSum) != sumGroup || (1 << logWordsPerSum) > kAqMaxSumWords) return false;
  }
  // Warps per token: the fewest that give every SM kWarpKernelWarpsPerSm warps, and at least one word per lane.
  int wpt = 1;
  while (wpt < kAqWarps && static_cast<long long>(m) * wpt < static_cast<long long>(kWarpKernelWarpsPerSm) * smCount &&
         out.wordsPad >= 64 * wpt)
    wpt *= 2;
  const ActQuantWarpArgs args{x, m, k, bits, out.wordsPad, logWordsPerSum, groupsS, out.planes, out.scales, out.zeros, out.sums};
  switch (wpt) {
    case 1: launchWarpKernel<1>(args, stream); break;
    case 2: launchWarpKernel<2>(args, stream); break;
    case 4: launchWarpKernel<4>(args, stream); break;
    default: launchWarpKernel<8>(args, stream); break;
  }
  return true;
}

}  // namespace

void actQuantPack(const __half* x, int m, int k, int bits, int actGroup, int sumGroup, const ActQuantOut& out,
                  cudaStream_t stream) {
  const int groupsA = (k + actGroup - 1) / actGroup;
  const int groupsS = (k + sumGroup - 1) / sumGroup;
  int smCount = 0, dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&smCount, cudaDevAttrMultiProcessorCount, dev));
  if (tryWarpKernel(x, m, k, bits, groupsA, sumGroup, groupsS, smCount, out, stream)) return;
  const int words = (k + 31) / 32;
  const size_t kPad = (k + kHalvesPerLoad - 1) / kHalvesPerLoad * kHalvesPerLoad;
  const size_t smem = kPad * 2 + static_cast<size_t>(groupsA) * 12 + static_cast<size_t>(groupsS) * 4;
  if (smem > kMaxSmem) {
    throw AbqError("actQuantPack: K=" + std::to_string(k) + " with activation group " + std::to_string(actGroup) +
                   " and weight group " + std::to_string(sumGroup) + " needs " + std::to_string(smem) +
                   " bytes of shared memory (max " + std::to_string(kMaxSmem) + "): use larger groups or split K");
  }
  static bool raised = false;  // callers serialize GPU work (addon mutex, single-threaded bench)
  if (!raised) {
    CUDA_CHECK(cudaFuncSetAttribute(actQuantPackKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kMaxSmem)));
    raised = true;
  }
  const int slices = std::max(1, std::min((kTargetCtasPerSm * smCount + m - 1) / m, out.wordsPad / kMinWordsPerSlice));
  CUDA_CHECK(cudaMemsetAsync(out.sums, 0, static_cast<size_t>(m) * groupsS * sizeof(uint32_t), stream));
  actQuantPackKernel<<<dim3(m, slices), kThreads, smem, stream>>>(x, m, k, bits, actGroup, groupsA, sumGroup, groupsS, words,
                                                    out.wordsPad, out.planes, out.scales, out.zeros, out.sums);
  CUDA_CHECK_LAUNCH("actQuantPack");
}

}  // namespace abq

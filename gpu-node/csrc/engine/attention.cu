// Causal grouped-query attention over the paged KV cache, one warp per (token, query head); the same
// kernel serves prefill (many tokens of one sequence) and decode (one token of many sequences): token t
// at position p attends to positions 0..p of its own sequence through the block table.
//
// Per chunk of 32 positions (online softmax, flash style): lane l scores position j0 + l against the
// whole query (q in shared memory, the key row read by that lane), the warp takes max and sum, then
// the 32 value rows are accumulated with lanes along the head dimension (lane d owns dims d, d + 32, ..).
// Query head h reads KV head h / (heads / kvHeads). With the fp16 cache the softmax and sums run in f32;
// with the f32 cache (kvF32, the exactness mode) in f64 like the reference, so outputs match it to f32 rounding.
#include "ops.cuh"
#include "cuda-check.cuh"

namespace abq::engine {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxHeadDim = 128;
constexpr int kDimsPerLane = kMaxHeadDim / 32;

template <typename KV> __device__ __forceinline__ float ld(const KV* p) { return static_cast<float>(p[0]); }
template <> __device__ __forceinline__ float ld<__half>(const __half* p) { return __half2float(p[0]); }

/** q . k over one key row read by this lane alone: 16-byte loads where the head width allows. */
template <typename Acc>
__device__ __forceinline__ Acc dotRow(const float* qs, const __half* kr, int headDim) {
  Acc dot = 0;
  if (headDim % 8 == 0) {
    for (int d = 0; d < headDim; d += 8) {
      const uint4 raw = *reinterpret_cast<const uint4*>(kr + d);
      const __half2* h2 = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const float2 f = __half22float2(h2[j]);
        dot += static_cast<Acc>(qs[d + 2 * j]) * f.x + static_cast<Acc>(qs[d + 2 * j + 1]) * f.y;
      }
    }
    return dot;
  }
  for (int d = 0; d < headDim; d++) dot += static_cast<Acc>(qs[d]) * __half2float(kr[d]);
  return dot;
}

template <typename Acc>
__device__ __forceinline__ Acc dotRow(const float* qs, const float* kr, int headDim) {
  Acc dot = 0;
  if (headDim % 4 == 0) {
    for (int d = 0; d < headDim; d += 4) {
      const float4 k4 = *reinterpret_cast<const float4*>(kr + d);
      dot += static_cast<Acc>(qs[d]) * k4.x + static_cast<Acc>(qs[d + 1]) * k4.y + static_cast<Acc>(qs[d + 2]) * k4.z +
             static_cast<Acc>(qs[d + 3]) * k4.w;
    }
    return dot;
  }
  for (int d = 0; d < headDim; d++) dot += static_cast<Acc>(qs[d]) * kr[d];
  return dot;
}

__device__ __forceinline__ float expAcc(float v) { return expf(v); }
__device__ __forceinline__ double expAcc(double v) { return exp(v); }

template <typename KV, typename Acc>
__global__ void __launch_bounds__(kWarps * 32) attentionKernel(const float* __restrict__ q, int t, int heads,
                                                               int kvHeads, int headDim, const TokenMeta meta,
                                                               const KV* __restrict__ kCache,
                                                               const KV* __restrict__ vCache, float* out) {
  __shared__ float qs[kWarps][kMaxHeadDim];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int item = blockIdx.x * kWarps + warp;
  if (item >= t * heads) return;
  const int tok = item / heads, h = item % heads;
  const int kvh = h / (heads / kvHeads);
  const float* qr = q + static_cast<size_t>(item) * headDim;
  for (int d = lane; d < headDim; d += 32) qs[warp][d] = qr[d];
  __syncwarp();
  const int ctx = meta.positions[tok] + 1;
  const int* table = meta.tables + meta.seqOf[tok] * meta.maxBlocksPerSeq;
  const size_t rowStride = static_cast<size_t>(kvHeads) * headDim;
  const Acc scale = Acc(1) / sqrt(static_cast<Acc>(headDim));
  Acc mRun = -INFINITY, lRun = 0, acc[kDimsPerLane];
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) acc[i] = 0;
  for (int j0 = 0; j0 < ctx; j0 += 32) {
    const int j = j0 + lane;
    Acc s = -INFINITY;
    size_t rowOff = 0;
    if (j < ctx) {
      rowOff = (static_cast<size_t>(table[j / meta.blockSize]) * meta.blockSize + j % meta.blockSize) * rowStride +
               static_cast<size_t>(kvh) * headDim;
      s = dotRow<Acc>(qs[warp], kCache + rowOff, headDim) * scale;
    }
    Acc mChunk = s;
    for (int o = 16; o > 0; o >>= 1) mChunk = max(mChunk, __shfl_xor_sync(0xffffffffu, mChunk, o));
    const Acc mNew = max(mRun, mChunk);
    const Acc corr = expAcc(mRun - mNew);
    const Acc p = j < ctx ? expAcc(s - mNew) : Acc(0);
    Acc pSum = p;
    for (int o = 16; o > 0; o >>= 1) pSum += __shfl_xor_sync(0xffffffffu, pSum, o);
    lRun = lRun * corr + pSum;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; i++) acc[i] *= corr;
    const int count = min(32, ctx - j0);
    for (int jj = 0; jj < count; jj++) {
      const Acc pj = __shfl_sync(0xffffffffu, p, jj);
      const size_t off = __shfl_sync(0xffffffffu, rowOff, jj);
#pragma unroll
      for (int i = 0; i < kDimsPerLane; i++) {
        const int d = lane + 32 * i;
        if (d < headDim) acc[i] += pj * static_cast<Acc>(ld(vCache + off + d));
      }
    }
    mRun = mNew;
  }
  float* o = out + static_cast<size_t>(item) * headDim;
  const Acc inv = Acc(1) / lRun;
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) {
    const int d = lane + 32 * i;
    if (d < headDim) o[d] = static_cast<float>(acc[i] * inv);
  }
}

}  // namespace

void pagedAttention(const float* q, int t, int heads, int kvHeads, int headDim, const TokenMeta& meta,
                    const void* kCache, const void* vCache, bool kvF32, float* out, cudaStream_t stream) {
  if (t < 1) return;
  if (headDim > kMaxHeadDim || headDim % 2 != 0 || heads % kvHeads != 0)
    throw AbqError("pagedAttention: head_dim " + std::to_string(headDim) + " (needs even, <= 128), heads " +
                   std::to_string(heads) + " / kv heads " + std::to_string(kvHeads));
  const int blocks = (t * heads + kWarps - 1) / kWarps;
  if (kvF32)
    attentionKernel<float, double><<<blocks, kWarps * 32, 0, stream>>>(q, t, heads, kvHeads, headDim, meta,
                                                               static_cast<const float*>(kCache), static_cast<const float*>(vCache), out);
  else
    attentionKernel<__half, float><<<blocks, kWarps * 32, 0, stream>>>(q, t, heads, kvHeads, headDim, meta,
                                                                static_cast<const __half*>(kCache), static_cast<const __half*>(vCache), out);
  CUDA_CHECK_LAUNCH("pagedAttention");
}

}  // namespace abq::engine

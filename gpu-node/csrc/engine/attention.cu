// Causal grouped-query attention over the paged KV cache, one warp per (token, query head); the same
// kernel serves prefill (many tokens of one sequence) and decode (one token of many sequences): token t
// at position p attends to positions 0..p of its own sequence through the block table.
//
// Per chunk of 32 positions (online softmax, flash style): lane l scores position j0 + l against the
// whole query (q in shared memory, the key row read by that lane), the warp takes max and sum, then
// the 32 value rows are accumulated with lanes along the head dimension (lane d owns dims d, d + 32, ..).
// Query head h reads KV head h / (heads / kvHeads). Softmax and sums in f32.
#include "ops.cuh"
#include "cuda-check.cuh"

namespace abq::engine {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxHeadDim = 128;
constexpr int kDimsPerLane = kMaxHeadDim / 32;

template <typename KV> __device__ __forceinline__ float ld(const KV* p) { return static_cast<float>(p[0]); }
template <> __device__ __forceinline__ float ld<__half>(const __half* p) { return __half2float(p[0]); }

template <typename KV>
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
  const float scale = rsqrtf(static_cast<float>(headDim));
  float mRun = -INFINITY, lRun = 0.f, acc[kDimsPerLane];
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) acc[i] = 0.f;
  for (int j0 = 0; j0 < ctx; j0 += 32) {
    const int j = j0 + lane;
    float s = -INFINITY;
    size_t rowOff = 0;
    if (j < ctx) {
      rowOff = (static_cast<size_t>(table[j / meta.blockSize]) * meta.blockSize + j % meta.blockSize) * rowStride +
               static_cast<size_t>(kvh) * headDim;
      const KV* kr = kCache + rowOff;
      float dot = 0.f;
      for (int d = 0; d < headDim; d++) dot = fmaf(qs[warp][d], ld(kr + d), dot);
      s = dot * scale;
    }
    float mChunk = s;
    for (int o = 16; o > 0; o >>= 1) mChunk = fmaxf(mChunk, __shfl_xor_sync(0xffffffffu, mChunk, o));
    const float mNew = fmaxf(mRun, mChunk);
    const float corr = expf(mRun - mNew);
    const float p = j < ctx ? expf(s - mNew) : 0.f;
    float pSum = p;
    for (int o = 16; o > 0; o >>= 1) pSum += __shfl_xor_sync(0xffffffffu, pSum, o);
    lRun = lRun * corr + pSum;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; i++) acc[i] *= corr;
    const int count = min(32, ctx - j0);
    for (int jj = 0; jj < count; jj++) {
      const float pj = __shfl_sync(0xffffffffu, p, jj);
      const size_t off = __shfl_sync(0xffffffffu, rowOff, jj);
#pragma unroll
      for (int i = 0; i < kDimsPerLane; i++) {
        const int d = lane + 32 * i;
        if (d < headDim) acc[i] = fmaf(pj, ld(vCache + off + d), acc[i]);
      }
    }
    mRun = mNew;
  }
  float* o = out + static_cast<size_t>(item) * headDim;
  const float inv = 1.f / lRun;
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) {
    const int d = lane + 32 * i;
    if (d < headDim) o[d] = acc[i] * inv;
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
    attentionKernel<float><<<blocks, kWarps * 32, 0, stream>>>(q, t, heads, kvHeads, headDim, meta,
                                                               static_cast<const float*>(kCache), static_cast<const float*>(vCache), out);
  else
    attentionKernel<__half><<<blocks, kWarps * 32, 0, stream>>>(q, t, heads, kvHeads, headDim, meta,
                                                                static_cast<const __half*>(kCache), static_cast<const __half*>(vCache), out);
  CUDA_CHECK_LAUNCH("pagedAttention");
}

}  // namespace abq::engine

// Causal grouped-query attention over the paged KV cache, one CTA of 4 warps per (token, query head); the same
// kernel serves prefill (many tokens of one sequence) and decode (one token of many sequences): token t
// at position p attends to positions 0..p of its own sequence through the block table.
//
// The CTA's warps take alternate chunks of 32 positions and merge their softmax states at the end
// (flash-decoding inside the CTA: decode at batch 1 still keeps 4 warps per head busy).
// Per chunk (online softmax, flash style): lane l scores position j0 + l against the
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
constexpr int kValueBatch = 8;  // value rows loaded together

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
  __shared__ float qs[kMaxHeadDim];
  __shared__ Acc partM[kWarps], partL[kWarps];
  __shared__ Acc partAcc[kWarps][kMaxHeadDim];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int item = blockIdx.x;  // (token, query head)
  const int tok = item / heads, h = item % heads;
  const int kvh = h / (heads / kvHeads);
  const float* qr = q + static_cast<size_t>(item) * headDim;
  for (int d = threadIdx.x; d < headDim; d += blockDim.x) qs[d] = qr[d];
  __syncthreads();
  const int ctx = meta.positions[tok] + 1;
  const int* table = meta.tables + meta.seqOf[tok] * meta.maxBlocksPerSeq;
  const size_t rowStride = static_cast<size_t>(kvHeads) * headDim;
  const Acc scale = Acc(1) / sqrt(static_cast<Acc>(headDim));
  Acc mRun = -INFINITY, lRun = 0, acc[kDimsPerLane];
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) acc[i] = 0;
  // Warp w takes the chunks w, w + kWarps, ... (flash-decoding split inside the CTA).
  for (int j0 = warp * 32; j0 < ctx; j0 += 32 * kWarps) {
    const int j = j0 + lane;
    Acc s = -INFINITY;
    size_t rowOff = 0;
    if (j < ctx) {
      rowOff = (static_cast<size_t>(table[j / meta.blockSize]) * meta.blockSize + j % meta.blockSize) * rowStride +
               static_cast<size_t>(kvh) * headDim;
      s = dotRow<Acc>(qs, kCache + rowOff, headDim) * scale;
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
    // Values: 8 positions per batch so their loads are in flight together (p = 0 past the context).
    for (int jb = 0; jb < 32; jb += kValueBatch) {
      Acc pj[kValueBatch];
      float vv[kValueBatch][kDimsPerLane];
#pragma unroll
      for (int u = 0; u < kValueBatch; u++) {
        pj[u] = __shfl_sync(0xffffffffu, p, jb + u);
        const size_t off = __shfl_sync(0xffffffffu, rowOff, jb + u);
#pragma unroll
        for (int i = 0; i < kDimsPerLane; i++) {
          const int d = lane + 32 * i;
          vv[u][i] = (d < headDim && j0 + jb + u < ctx) ? ld(vCache + off + d) : 0.f;
        }
      }
#pragma unroll
      for (int u = 0; u < kValueBatch; u++)
#pragma unroll
        for (int i = 0; i < kDimsPerLane; i++) acc[i] += pj[u] * static_cast<Acc>(vv[u][i]);
      if (j0 + jb + kValueBatch >= ctx) break;
    }
    mRun = mNew;
  }
  // Combine the warps' partial softmax states.
  if (lane == 0) { partM[warp] = mRun; partL[warp] = lRun; }
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) {
    const int d = lane + 32 * i;
    if (d < headDim) partAcc[warp][d] = acc[i];
  }
  __syncthreads();
  if (warp != 0) return;
  Acc m = -INFINITY;
  for (int w = 0; w < kWarps; w++) m = max(m, partM[w]);
  Acc l = 0, wScale[kWarps];
  for (int w = 0; w < kWarps; w++) {
    wScale[w] = partL[w] > 0 ? expAcc(partM[w] - m) : Acc(0);
    l += partL[w] * wScale[w];
  }
  float* o = out + static_cast<size_t>(item) * headDim;
  const Acc inv = Acc(1) / l;
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) {
    const int d = lane + 32 * i;
    if (d >= headDim) continue;
    Acc a = 0;
    for (int w = 0; w < kWarps; w++) a += partAcc[w][d] * wScale[w];
    o[d] = static_cast<float>(a * inv);
  }
}

}  // namespace

void pagedAttention(const float* q, int t, int heads, int kvHeads, int headDim, const TokenMeta& meta,
                    const void* kCache, const void* vCache, bool kvF32, float* out, cudaStream_t stream) {
  if (t < 1) return;
  if (headDim > kMaxHeadDim || headDim % 2 != 0 || heads % kvHeads != 0)
    throw AbqError("pagedAttention: head_dim " + std::to_string(headDim) + " (needs even, <= 128), heads " +
                   std::to_string(heads) + " / kv heads " + std::to_string(kvHeads));
  const int blocks = t * heads;
  if (kvF32)
    attentionKernel<float, double><<<blocks, kWarps * 32, 0, stream>>>(q, t, heads, kvHeads, headDim, meta,
                                                               static_cast<const float*>(kCache), static_cast<const float*>(vCache), out);
  else
    attentionKernel<__half, float><<<blocks, kWarps * 32, 0, stream>>>(q, t, heads, kvHeads, headDim, meta,
                                                                static_cast<const __half*>(kCache), static_cast<const __half*>(vCache), out);
  CUDA_CHECK_LAUNCH("pagedAttention");
}

}  // namespace abq::engine

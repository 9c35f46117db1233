// Embedding gather, and RoPE + KV-cache store (shared/model/rope.ts: HF "rotate half" layout; element
// i < D/2 pairs with i + D/2; cos/sin tables are f32 [position][D/2] computed at load from the
// reference's inverse frequencies, and each rotation runs in f64 and rounds once, as the reference).
//
// Paged KV cache of one layer: [block][slot][kvHead][D] (fp16, or f32 with kvF32); position p of a
// sequence lives in block tables[seq][p / blockSize], slot p % blockSize.
//
// At decode the fused q/k/v linear's epilogue runs here (PendingEpilogue): each thread computes the
// outputs it rotates or stores straight from the accumulators, so the step has no separate epilogue
// launch and never writes the unrotated q/k/v.
#include "epilogue-f32.cuh"
#include "cuda-check.cuh"
#include "pdl.h"
#include "ptx.cuh"

namespace abq::engine {
namespace {

constexpr int kThreads = 128;

__global__ void embedKernel(const float* __restrict__ embed, const int* __restrict__ tokens, int dim, float* hidden) {
  const int t = blockIdx.x;
  const float* src = embed + static_cast<size_t>(tokens[t]) * dim;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) hidden[static_cast<size_t>(t) * dim + i] = src[i];
}

__device__ __forceinline__ void storeKv(void* cache, bool f32, size_t idx, float v) {
  if (f32) static_cast<float*>(cache)[idx] = v;
  else static_cast<__half*>(cache)[idx] = __float2half_rn(v);
}

// One thread per (token, rotation pair or value element): a decode step has few tokens, so the work is
// spread over many CTAs instead of one per token (a one-CTA loop was latency-bound: ~20 us per layer).
__global__ void ropeStoreKernel(const float* __restrict__ q, int qStride, const float* __restrict__ k, int kStride,
                                const float* __restrict__ v, int vStride, int t, int heads, int kvHeads, int headDim,
                                const float* __restrict__ cosT, const float* __restrict__ sinT, const TokenMeta meta,
                                void* kCache, void* vCache, bool kvF32, float* qOut, const PendingEpilogue pe) {
  pdlLaunchDependents();  // PDL (pdl.h): attention may launch now; it waits for this kernel's stores itself
  pdlWait();
  const int half = headDim / 2;
  const int rot = (heads + kvHeads) * half, perToken = rot + kvHeads * headDim;
  const size_t idxAll = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idxAll >= static_cast<size_t>(t) * perToken) return;
  const int tok = static_cast<int>(idxAll / perToken), idx = static_cast<int>(idxAll % perToken);
  const int pos = meta.positions[tok];
  const int block = meta.tables[meta.seqOf[tok] * meta.maxBlocksPerSeq + pos / meta.blockSize];
  const size_t slotBase = (static_cast<size_t>(block) * meta.blockSize + pos % meta.blockSize) * kvHeads * headDim;
  const bool pending = pe.kind != kPendingNone;  // q, k, v are columns [0, H D), [H D, +KV D), [.., +KV D) of its output
  if (idx >= rot) {
    const int e = idx - rot;
    const float x = pending ? pendingOutputAt(pe, tok, (heads + kvHeads) * headDim + e) : v[static_cast<size_t>(tok) * vStride + e];
    storeKv(vCache, kvF32, slotBase + e, x);
    return;
  }
  const int h = idx / half, i = idx % half;
  const bool isK = h >= heads;
  const int hh = isK ? h - heads : h;
  double x0, x1;
  if (pending) {
    const int c0 = h * headDim + i;  // q heads then k heads, as the fused output's columns
    x0 = pendingOutputAt(pe, tok, c0);
    x1 = pendingOutputAt(pe, tok, c0 + half);
  } else {
    const float* src = isK ? k + static_cast<size_t>(tok) * kStride + hh * headDim : q + static_cast<size_t>(tok) * qStride + hh * headDim;
    x0 = src[i]; x1 = src[i + half];
  }
  const double cc = cosT[static_cast<size_t>(pos) * half + i], ss = sinT[static_cast<size_t>(pos) * half + i];
  const float y0 = static_cast<float>(x0 * cc - x1 * ss);
  const float y1 = static_cast<float>(x1 * cc + x0 * ss);
  if (isK) {
    storeKv(kCache, kvF32, slotBase + hh * headDim + i, y0);
    storeKv(kCache, kvF32, slotBase + hh * headDim + i + half, y1);
  } else {
    float* dst = qOut + (static_cast<size_t>(tok) * heads + hh) * headDim;
    dst[i] = y0;
    dst[i + half] = y1;
  }
}

}  // namespace

void embedRows(const float* embed, const int* tokens, int t, int dim, float* hidden, cudaStream_t stream) {
  if (t < 1) return;
  embedKernel<<<t, kThreads, 0, stream>>>(embed, tokens, dim, hidden);
  CUDA_CHECK_LAUNCH("embedRows");
}

void ropeAndStore(const float* q, int qStride, const float* k, int kStride, const float* v, int vStride, int t, int heads, int kvHeads,
                  int headDim, const float* cosT, const float* sinT, const TokenMeta& meta, void* kCache,
                  void* vCache, bool kvF32, float* qOut, cudaStream_t stream, const PendingEpilogue* pending) {
  if (t < 1) return;
  const size_t total = static_cast<size_t>(t) * ((heads + kvHeads) * (headDim / 2) + kvHeads * headDim);
  launchPdlIf(pdlAttentionEnabled(), ropeStoreKernel, dim3(static_cast<unsigned>((total + kThreads - 1) / kThreads)), dim3(kThreads), 0, stream,
            q, qStride, k, kStride, v, vStride, t, heads, kvHeads, headDim, cosT, sinT, meta, kCache, vCache, kvF32, qOut,
            pending ? *pending : PendingEpilogue{});
  CUDA_CHECK_LAUNCH("ropeAndStore");
}

}  // namespace abq::engine

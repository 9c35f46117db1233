// Dense linear layer y [M][N] = x [M][K] . W [N][K]^T (+ bias) (+ residual), f32 activations.
// Used for unquantized layers (lm_head, embeddings-tied heads), host-dequantized weight-only layers of
// small models, and the fp16 baseline of the benchmark.
//
// Layout: one warp per output row n and a chunk of kTokens tokens; lanes stride along K, so a warp
// reads the weight row once per token chunk with coalesced loads (16 bytes per lane when K allows),
// and x rows come through L1/L2. f32 weights sum in f64 (the reference's sums are f64), fp16 weights
// in f32. Written for correctness and decode-size M; prefill-size M is compute-bound here (no tensor
// cores): the benchmark says so next to the number.
#include "ops.cuh"
#include "cuda-check.cuh"

namespace abq::engine {
namespace {

constexpr int kWarps = 8;
constexpr int kTokens = 8;  // tokens per CTA (accumulators per lane)

template <typename W> struct Acc { using T = float; };
template <> struct Acc<float> { using T = double; };

__device__ __forceinline__ float toF(float v) { return v; }
__device__ __forceinline__ float toF(__half v) { return __half2float(v); }

template <typename W>
__global__ void __launch_bounds__(kWarps * 32) denseKernel(const float* __restrict__ x, int m, int k,
                                                            const W* __restrict__ w, int n,
                                                            const float* __restrict__ bias, float* y,
                                                            const float* residual) {
  using A = typename Acc<W>::T;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int col = blockIdx.x * kWarps + warp;
  const int t0 = blockIdx.y * kTokens;
  if (col >= n) return;
  const int tokens = min(kTokens, m - t0);
  A acc[kTokens];
#pragma unroll
  for (int t = 0; t < kTokens; t++) acc[t] = 0;
  const W* wr = w + static_cast<size_t>(col) * k;
  int kDone = 0;
  if constexpr (sizeof(W) == 2) {
    // fp16 rows with K % 8 == 0: 16-byte weight loads (8 halves) per lane, x as two float4 per token.
    if (k % 8 == 0) {
      for (int i = lane * 8; i < k; i += 32 * 8) {
        const uint4 raw = *reinterpret_cast<const uint4*>(wr + i);
        const __half2* h2 = reinterpret_cast<const __half2*>(&raw);
        float wv[8];
#pragma unroll
        for (int j = 0; j < 4; j++) { const float2 f = __half22float2(h2[j]); wv[2 * j] = f.x; wv[2 * j + 1] = f.y; }
#pragma unroll
        for (int t = 0; t < kTokens; t++) {
          if (t < tokens) {
            const float4* xr = reinterpret_cast<const float4*>(x + static_cast<size_t>(t0 + t) * k + i);
            const float4 a = xr[0], b = xr[1];
            acc[t] += a.x * wv[0] + a.y * wv[1] + a.z * wv[2] + a.w * wv[3] + b.x * wv[4] + b.y * wv[5] + b.z * wv[6] + b.w * wv[7];
          }
        }
      }
      kDone = k;
    }
  }
  for (int i = kDone + lane; i < k; i += 32) {
    const A wv = toF(wr[i]);
#pragma unroll
    for (int t = 0; t < kTokens; t++)
      if (t < tokens) acc[t] += static_cast<A>(x[static_cast<size_t>(t0 + t) * k + i]) * wv;
  }
#pragma unroll
  for (int t = 0; t < kTokens; t++) {
    A v = acc[t];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0 && t < tokens) {
      const size_t idx = static_cast<size_t>(t0 + t) * n + col;
      float out = static_cast<float>(v);
      if (bias) out = __fadd_rn(out, bias[col]);
      if (residual) out = __fadd_rn(out, residual[idx]);
      y[idx] = out;
    }
  }
}

DenseGemmHook gHook = nullptr;

}  // namespace

void setDenseGemmHook(DenseGemmHook hook) { gHook = hook; }

void denseGemm(const float* x, int m, int k, const void* w, bool wHalf, int n, const float* bias, float* y,
               const float* residual, cudaStream_t stream) {
  if (m < 1) return;
  if (gHook && gHook(x, m, k, w, wHalf, n, bias, y, residual, stream)) return;
  const dim3 grid((n + kWarps - 1) / kWarps, (m + kTokens - 1) / kTokens);
  if (wHalf)
    denseKernel<__half><<<grid, kWarps * 32, 0, stream>>>(x, m, k, static_cast<const __half*>(w), n, bias, y, residual);
  else
    denseKernel<float><<<grid, kWarps * 32, 0, stream>>>(x, m, k, static_cast<const float*>(w), n, bias, y, residual);
  CUDA_CHECK_LAUNCH("denseGemm");
}

}  // namespace abq::engine

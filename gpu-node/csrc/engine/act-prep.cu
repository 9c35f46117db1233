// Fused input preparation of a linear layer: one CTA per token row.
//
//   source  row of the f32 residual stream (o_proj input: attention output; lm_head: gathered rows)
//           | RMSNorm(row) * weight            (q/k/v and gate/up inputs, lm_head)
//           | silu(gate) * up                  (down_proj input)
//   target  bit planes + per-group scale/zero + per-weight-group code sums (A1..8), or f32 / fp16 rows
//
// Numerics mirror the reference exactly (shared/model/norm.ts, mlp.ts, shared/numerics/act-quant.ts):
// the norm's sum of squares, 1/sqrt and the products run in f64 and round to f32 once; silu*up in f64;
// the quantizer is a chain of single correctly rounded f32 operations (__fsub_rn, __fdiv_rn, __fmul_rn,
// __float2int_rn), so the codes equal the reference's for equal f32 inputs.
//
// Layout: the row lives in shared memory (f32 [K]); each warp quantizes whole activation groups, then
// packs whole 32-element words: lane l holds element 32 w + l, and one ballot per plane gives word w of
// that plane (element k at bit k % 32, LSB first: shared/format/bitplanes.ts).
#include "ops.cuh"
#include "cuda-check.cuh"

namespace abq::engine {
namespace {

constexpr int kThreads = 1024;  // one CTA per row: decode rows are latency-bound, so use many threads
constexpr int kWarps = kThreads / 32;
constexpr int kMaxGroups = kPrepMaxK / 32;  // activation and sum groups are whole words or K

__device__ double blockSumDouble(double v, double* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) red[warp] = v;
  __syncthreads();
  double s = 0;
  if (threadIdx.x == 0) {
    for (int w = 0; w < kWarps; w++) s += red[w];
    red[kWarps] = s;
  }
  __syncthreads();
  return red[kWarps];
}

__global__ void __launch_bounds__(kThreads) prepKernel(const PrepSource src, const PrepTarget dst) {
  extern __shared__ float row[];  // [K]
  __shared__ double red[kWarps + 1];
  __shared__ float gInv[kMaxGroups];
  __shared__ int gZero[kMaxGroups];
  __shared__ unsigned gSum[kMaxGroups];
  const int r = blockIdx.x, k = dst.k;
  const int srcRow = src.rowIndex ? src.rowIndex[r] : r;
  const float* x = src.x + static_cast<size_t>(srcRow) * src.xStride;
  if (src.mode == kPrepSwiglu) {
    const float* u = src.x2 + static_cast<size_t>(srcRow) * src.x2Stride;
    for (int i = threadIdx.x; i < k; i += kThreads) {
      const double g = x[i];
      row[i] = static_cast<float>(g / (1.0 + exp(-g)) * static_cast<double>(u[i]));
    }
  } else {
    for (int i = threadIdx.x; i < k; i += kThreads) row[i] = x[i];
  }
  if (src.mode == kPrepNorm) {
    double ss = 0;
    for (int i = threadIdx.x; i < k; i += kThreads) ss += static_cast<double>(row[i]) * row[i];
    const double inv = 1.0 / sqrt(blockSumDouble(ss, red) / k + src.eps);
    for (int i = threadIdx.x; i < k; i += kThreads)
      row[i] = static_cast<float>(static_cast<double>(row[i]) * inv * static_cast<double>(src.normW[i]));
  }
  __syncthreads();
  if (dst.kind == kOutF32) {
    for (int i = threadIdx.x; i < k; i += kThreads) dst.f32[static_cast<size_t>(r) * k + i] = row[i];
    return;
  }
  if (dst.kind == kOutF16) {
    for (int i = threadIdx.x; i < k; i += kThreads) dst.f16[static_cast<size_t>(r) * k + i] = __float2half_rn(row[i]);
    return;
  }
  // Per activation group: range, scale, reciprocal and zero point (act-quant.ts actQuantParams).
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int qmax = (1 << dst.bits) - 1;
  const int aGroups = (k + dst.actGroup - 1) / dst.actGroup;
  const int sGroups = (k + dst.sumGroup - 1) / dst.sumGroup;
  // Per-token (one group): the whole CTA reduces min/max; else one warp per group.
  __shared__ float redMn[kWarps], redMx[kWarps];
  const bool whole = aGroups == 1;
  for (int g = whole ? 0 : warp; g < aGroups; g += kWarps) {
    const int k0 = g * dst.actGroup, k1 = min(k, k0 + dst.actGroup);
    float mn = INFINITY, mx = -INFINITY;
    for (int i = k0 + (whole ? threadIdx.x : lane); i < k1; i += whole ? kThreads : 32) { mn = fminf(mn, row[i]); mx = fmaxf(mx, row[i]); }
    for (int o = 16; o > 0; o >>= 1) {
      mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    }
    if (whole) {
      if (lane == 0) { redMn[warp] = mn; redMx[warp] = mx; }
      __syncthreads();
      if (threadIdx.x != 0) break;
      for (int w = 1; w < kWarps; w++) { mn = fminf(mn, redMn[w]); mx = fmaxf(mx, redMx[w]); }
    }
    if (lane == 0) {
      const float lo = fminf(0.f, mn), hi = fmaxf(0.f, mx);
      float scale = __fdiv_rn(__fsub_rn(hi, lo), static_cast<float>(qmax));
      if (!(scale > 0.f) || isinf(scale)) scale = 1.f;
      const float inv = __fdiv_rn(1.f, scale);
      const int zero = min(qmax, max(0, __float2int_rn(__fmul_rn(-lo, inv))));
      gInv[g] = inv; gZero[g] = zero;
      dst.scales[static_cast<size_t>(r) * aGroups + g] = scale;
      dst.zeros[static_cast<size_t>(r) * aGroups + g] = static_cast<uint8_t>(zero);
    }
  }
  for (int g = threadIdx.x; g < sGroups; g += kThreads) gSum[g] = 0;
  __syncthreads();
  const int m = gridDim.x;
  for (int w = warp; w < dst.wordsPad; w += kWarps) {
    const int i = w * 32 + lane;
    int code = 0;
    if (i < k) {
      const int g = i / dst.actGroup;
      code = min(qmax, max(0, __float2int_rn(__fmul_rn(row[i], gInv[g])) + gZero[g]));
    }
    for (int b = 0; b < dst.bits; b++) {
      const unsigned word = __ballot_sync(0xffffffffu, (code >> b) & 1);
      if (lane == 0) dst.planes[(static_cast<size_t>(b) * m + r) * dst.wordsPad + w] = word;
    }
    const unsigned s = __reduce_add_sync(0xffffffffu, static_cast<unsigned>(code));
    if (lane == 0 && w * 32 < k) atomicAdd(&gSum[(w * 32) / dst.sumGroup], s);
  }
  __syncthreads();
  for (int g = threadIdx.x; g < sGroups; g += kThreads) dst.sums[static_cast<size_t>(r) * sGroups + g] = gSum[g];
}

}  // namespace

void prepActivations(const PrepSource& src, const PrepTarget& dst, int m, cudaStream_t stream) {
  if (m < 1) return;
  if (dst.k > kPrepMaxK) throw AbqError("prepActivations: K=" + std::to_string(dst.k) + " exceeds " + std::to_string(kPrepMaxK));
  const size_t smem = static_cast<size_t>(dst.k) * sizeof(float);
  static bool raised = false;  // once per process: allow the whole kPrepMaxK row
  if (!raised) {
    CUDA_CHECK(cudaFuncSetAttribute(prepKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kPrepMaxK * sizeof(float)));
    raised = true;
  }
  prepKernel<<<m, kThreads, smem, stream>>>(src, dst);
  CUDA_CHECK_LAUNCH("prepActivations");
}

}  // namespace abq::engine

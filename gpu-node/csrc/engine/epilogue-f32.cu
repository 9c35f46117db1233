// The group epilogue with f32 outputs for the engine (DESIGN.md numerics):
//   y[m, n] = sum_g s_x[m, ag] s_w[n, g] (acc_g - z_w Sx_g[m] - z_x Sw_g[n] + K_g z_x z_w)   (f64, as the reference)
//   y = f32(y) (+ bias[n]) (+ residual[m, n])                                                (f32 adds, as the reference)
// One thread per output; acc is zeroed after reading so the next split-K accumulate starts from 0.
#include "ops.cuh"
#include "cuda-check.cuh"

namespace abq::engine {
namespace {

constexpr int kThreads = 256;

__global__ void epilogueF32Kernel(const EpiF32Args e, int groups, int actGroups) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(e.m) * e.n) return;
  const int row = static_cast<int>(idx / e.n), col = static_cast<int>(idx % e.n);
  double y = 0;
  for (int g = 0; g < groups; g++) {
    const int kg = min(e.k, (g + 1) * e.groupSize) - g * e.groupSize;
    const int ag = actGroups == 1 ? 0 : (g * e.groupSize) / e.actGroup;
    const uint32_t zx = e.xZeros[static_cast<size_t>(row) * actGroups + ag];
    const size_t wi = static_cast<size_t>(col) * groups + g;
    const uint32_t zw = e.wZeros[wi];
    const uint32_t acc = e.acc[idx * groups + g];
    e.acc[idx * groups + g] = 0;
    // Exact in wrapping u32: the true value sum_k (x - zx)(w - zw) fits in int32.
    const uint32_t bracket = acc - zw * e.xSums[static_cast<size_t>(row) * groups + g] - zx * e.wSums[wi] +
                             static_cast<uint32_t>(kg) * zx * zw;
    y += static_cast<double>(e.xScales[static_cast<size_t>(row) * actGroups + ag]) * static_cast<double>(e.wScales[wi]) *
         static_cast<double>(static_cast<int32_t>(bracket));
  }
  float v = static_cast<float>(y);
  if (e.bias) v = __fadd_rn(v, e.bias[col]);
  if (e.residual) v = __fadd_rn(v, e.residual[idx]);
  e.y[idx] = v;
}

__global__ void halfToFloatKernel(const __half* x, size_t total, float* y, const float* residual) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= total) return;
  float v = __half2float(x[idx]);
  if (residual) v = __fadd_rn(v, residual[idx]);
  y[idx] = v;
}

int blocksFor(size_t total) { return static_cast<int>((total + kThreads - 1) / kThreads); }

}  // namespace

void epilogueF32(const EpiF32Args& e, cudaStream_t stream) {
  const int groups = (e.k + e.groupSize - 1) / e.groupSize, actGroups = (e.k + e.actGroup - 1) / e.actGroup;
  epilogueF32Kernel<<<blocksFor(static_cast<size_t>(e.m) * e.n), kThreads, 0, stream>>>(e, groups, actGroups);
  CUDA_CHECK_LAUNCH("epilogueF32");
}

void halfToFloat(const __half* x, int m, int n, float* y, const float* residual, cudaStream_t stream) {
  const size_t total = static_cast<size_t>(m) * n;
  halfToFloatKernel<<<blocksFor(total), kThreads, 0, stream>>>(x, total, y, residual);
  CUDA_CHECK_LAUNCH("halfToFloat");
}

}  // namespace abq::engine

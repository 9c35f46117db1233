// The group epilogue with f32 outputs for the engine (the formula: epilogue-f32.cuh), one thread per
// output, for the calls whose epilogue is not fused into the next prep (prefill, qkv, the last layer).
#include "epilogue-f32.cuh"
#include "cuda-check.cuh"

namespace abq::engine {
namespace {

constexpr int kThreads = 256;

__global__ void epilogueF32Kernel(const EpiF32Args e, int groups, int actGroups) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(e.m) * e.n) return;
  e.y[idx] = epilogueF32At(e, groups, actGroups, static_cast<int>(idx / e.n), static_cast<int>(idx % e.n));
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

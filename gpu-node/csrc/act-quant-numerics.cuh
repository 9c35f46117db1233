// The per-value steps of shared/numerics/act-quant.ts on the GPU, shared by both quantize kernels
// (act-quant.cu: row slices for few tokens; act-quant-warp.cuh: warps per token for many).
// Every step is one IEEE f32 operation with round-to-nearest (the __f*_rn intrinsics stop nvcc from
// contracting them into FMAs), and rintf rounds half to even like the reference's roundHalfEven.
#pragma once
#include <cuda_fp16.h>
#include <cstdint>

namespace abq {

struct GroupParams {
  float scale, inv;
  int zero;
};

/** actQuantParams of the reference: lo/hi always hold 0; scale 1 for an all-zero group. */
__device__ __forceinline__ GroupParams groupParams(float mn, float mx, int qmax) {
  const float lo = fminf(0.f, mn);
  const float hi = fmaxf(0.f, mx);
  const float range = __fsub_rn(hi, lo);
  float scale = __fdiv_rn(range, static_cast<float>(qmax));
  if (!(scale > 0.f) || isinf(scale)) scale = 1.f;
  const float inv = __fdiv_rn(1.f, scale);
  const float z = rintf(__fmul_rn(-lo, inv));
  return {scale, inv, static_cast<int>(fminf(fmaxf(z, 0.f), static_cast<float>(qmax)))};
}

/**
 * actQuantCode of the reference. Rounded and clamped in float (not cvt.rni to int first): an infinite
 * or huge product must clamp to qmax, and NaN to 0, exactly as the reference's comparisons do.
 */
__device__ __forceinline__ uint32_t quantCode(float v, float inv, float zero, float qmax) {
  const float r = rintf(__fmul_rn(v, inv)) + zero;
  return static_cast<uint32_t>(fminf(fmaxf(r, 0.f), qmax));
}

}  // namespace abq

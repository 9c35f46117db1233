// The group epilogue (DESIGN.md numerics), shared by the separate epilogue kernel (large M) and the
// BTC kernel's fused tail (decode: the last CTA of an n-range applies it, saving a launch).
//   y[m, n] = sum_g s_x[m, ag] s_w[n, g] (acc_g - z_w Sx_g[m] - z_x Sw_g[n] + K_g z_x z_w)  (+ bias[n])
#pragma once
#include <cuda_fp16.h>
#include <cstdint>

#include "epilogue-f32-args.h"

namespace abq {

struct EpilogueArgs {
  int m, n, k, groupSize, actGroup;
  uint32_t* acc;                                               // [M][N][G]; left zeroed for the next call
  const float* xScales; const uint8_t* xZeros; const uint32_t* xSums;  // [M][Ga], [M][Ga], [M][G]
  const float* wScales; const uint8_t* wZeros; const uint32_t* wSums;  // [N][G] each
  const float* bias;                                           // [N] or nullptr
  __half* y;                                                   // [M][N]
};

/**
 * Group g's integer bracket of output (row, col): acc - z_w Sx_g[row] - z_x Sw_g[col] + K_g z_x z_w, exact in
 * wrapping u32 (the true value sum_k (x - zx)(w - zw) fits in int32). Either epilogue's arguments (E =
 * EpilogueArgs or EpiF32Args: the same field names); `ag` and `wi` return the scale indices.
 */
template <typename E>
__device__ __forceinline__ int32_t groupBracket(const E& e, int row, int col, int g, int groups, int actGroups, uint32_t acc,
                                                int& ag, size_t& wi) {
  const int kg = min(e.k, (g + 1) * e.groupSize) - g * e.groupSize;
  ag = actGroups == 1 ? 0 : (g * e.groupSize) / e.actGroup;
  const uint32_t zx = e.xZeros[static_cast<size_t>(row) * actGroups + ag];
  wi = static_cast<size_t>(col) * groups + g;
  const uint32_t zw = e.wZeros[wi];
  return static_cast<int32_t>(acc - zw * e.xSums[static_cast<size_t>(row) * groups + g] - zx * e.wSums[wi] +
                              static_cast<uint32_t>(kg) * zx * zw);
}

/** Group g's term of output (row, col), folded into y in group order (the reference's order). */
__device__ __forceinline__ float epilogueGroupTerm(const EpilogueArgs& e, int row, int col, int g, int groups,
                                                   int actGroups, uint32_t acc, float y) {
  int ag;
  size_t wi;
  const int32_t bracket = groupBracket(e, row, col, g, groups, actGroups, acc, ag, wi);
  return fmaf(e.xScales[static_cast<size_t>(row) * actGroups + ag] * e.wScales[wi], static_cast<float>(bracket), y);
}

/** The fp16 output from the summed groups (bias last, as the reference). */
__device__ __forceinline__ void epilogueStore(const EpilogueArgs& e, int row, int col, float y) {
  if (e.bias) y += e.bias[col];
  e.y[static_cast<size_t>(row) * e.n + col] = __float2half_rn(y);
}

/** One output; reads acc through L2 (__ldcg: it was written by other CTAs' atomics) and zeroes it. */
__device__ __forceinline__ void epilogueOutput(const EpilogueArgs& e, int row, int col, int groups, int actGroups) {
  const size_t idx = static_cast<size_t>(row) * e.n + col;
  float y = 0.f;
  for (int g = 0; g < groups; g++) {
    y = epilogueGroupTerm(e, row, col, g, groups, actGroups, __ldcg(e.acc + idx * groups + g), y);
    e.acc[idx * groups + g] = 0;  // ready for the next call's atomics: no memset launch
  }
  epilogueStore(e, row, col, y);
}

/**
 * Output (row, col) of the engine's f32 epilogue (epilogue-f32-args.h) with group g's accumulator from accAt(g):
 *   y[m, n] = f32(sum_g s_x[m, ag] s_w[n, g] (acc_g - z_w Sx_g[m] - z_x Sw_g[n] + K_g z_x z_w))  (+ bias[n]) (+ residual[m, n])
 * with the sum in f64, as the reference.
 */
template <typename AccAt>
__device__ __forceinline__ float epilogueF32With(const EpiF32Args& e, int groups, int actGroups, int row, int col, AccAt accAt) {
  double y = 0;
  for (int g = 0; g < groups; g++) {
    int ag;
    size_t wi;
    const int32_t bracket = groupBracket(e, row, col, g, groups, actGroups, accAt(g), ag, wi);
    y += static_cast<double>(e.xScales[static_cast<size_t>(row) * actGroups + ag]) * static_cast<double>(e.wScales[wi]) *
         static_cast<double>(bracket);
  }
  float v = static_cast<float>(y);
  if (e.bias) v = __fadd_rn(v, e.bias[col]);
  if (e.residual) v = __fadd_rn(v, e.residual[static_cast<size_t>(row) * e.n + col]);
  return v;
}

}  // namespace abq

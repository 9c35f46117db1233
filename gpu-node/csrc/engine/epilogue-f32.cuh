// One output of the engine's f32 group epilogue (DESIGN.md numerics), shared by the epilogue kernel and
// the prep kernel that finishes a pending epilogue (ops.cuh PendingEpilogue), so both are the same code:
//   y[m, n] = sum_g s_x[m, ag] s_w[n, g] (acc_g - z_w Sx_g[m] - z_x Sw_g[n] + K_g z_x z_w)   (f64, as the reference)
//   y = f32(y) (+ bias[n]) (+ residual[m, n])                                                (f32 adds, as the reference)
// The accumulators read are zeroed so the next split-K accumulate starts from 0.
#pragma once
#include "ops.cuh"

namespace abq::engine {

__device__ __forceinline__ float epilogueF32At(const EpiF32Args& e, int groups, int actGroups, int row, int col,
                                               bool zero = true) {
  const size_t idx = static_cast<size_t>(row) * e.n + col;
  double y = 0;
  for (int g = 0; g < groups; g++) {
    const int kg = min(e.k, (g + 1) * e.groupSize) - g * e.groupSize;
    const int ag = actGroups == 1 ? 0 : (g * e.groupSize) / e.actGroup;
    const uint32_t zx = e.xZeros[static_cast<size_t>(row) * actGroups + ag];
    const size_t wi = static_cast<size_t>(col) * groups + g;
    const uint32_t zw = e.wZeros[wi];
    const uint32_t acc = e.acc[idx * groups + g];
    if (zero) e.acc[idx * groups + g] = 0;
    // Exact in wrapping u32: the true value sum_k (x - zx)(w - zw) fits in int32.
    const uint32_t bracket = acc - zw * e.xSums[static_cast<size_t>(row) * groups + g] - zx * e.wSums[wi] +
                             static_cast<uint32_t>(kg) * zx * zw;
    y += static_cast<double>(e.xScales[static_cast<size_t>(row) * actGroups + ag]) * static_cast<double>(e.wScales[wi]) *
         static_cast<double>(static_cast<int32_t>(bracket));
  }
  float v = static_cast<float>(y);
  if (e.bias) v = __fadd_rn(v, e.bias[col]);
  if (e.residual) v = __fadd_rn(v, e.residual[idx]);
  return v;
}

/**
 * Output (row, col) of a pending epilogue (BTC accumulators or the weight-only fp16 output), residual added.
 * zero = false leaves the accumulators for zeroPendingAcc (a caller that stores late, act-prep.cu).
 */
__device__ __forceinline__ float pendingOutputAt(const PendingEpilogue& p, int row, int col, bool zero = true) {
  if (p.kind == kPendingBtc) return epilogueF32At(p.e, p.groups, p.actGroups, row, col, zero);
  const size_t idx = static_cast<size_t>(row) * p.e.n + col;
  float v = __half2float(p.yf16[idx]);
  if (p.e.residual) v = __fadd_rn(v, p.e.residual[idx]);
  return v;
}

/** Zero the BTC accumulators of output (row, col) after pendingOutputAt(..., zero = false). */
__device__ __forceinline__ void zeroPendingAcc(const PendingEpilogue& p, int row, int col) {
  const size_t base = (static_cast<size_t>(row) * p.e.n + col) * p.groups;
  for (int g = 0; g < p.groups; g++) p.e.acc[base + g] = 0;
}

}  // namespace abq::engine

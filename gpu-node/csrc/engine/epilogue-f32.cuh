// One output of the engine's f32 group epilogue (DESIGN.md numerics), shared by the epilogue kernel and
// the prep kernel that finishes a pending epilogue (ops.cuh PendingEpilogue), so both are the same code:
//   y[m, n] = sum_g s_x[m, ag] s_w[n, g] (acc_g - z_w Sx_g[m] - z_x Sw_g[n] + K_g z_x z_w)   (f64, as the reference)
//   y = f32(y) (+ bias[n]) (+ residual[m, n])                                                (f32 adds, as the reference)
// The accumulators read are zeroed so the next split-K accumulate starts from 0.
#pragma once
#include "btc-epilogue.cuh"
#include "ops.cuh"

namespace abq::engine {

__device__ __forceinline__ float epilogueF32At(const EpiF32Args& e, int groups, int actGroups, int row, int col,
                                               bool zero = true) {
  uint32_t* acc = e.acc + (static_cast<size_t>(row) * e.n + col) * groups;
  return abq::epilogueF32With(e, groups, actGroups, row, col, [&](int g) {
    const uint32_t v = acc[g];
    if (zero) acc[g] = 0;
    return v;
  });
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

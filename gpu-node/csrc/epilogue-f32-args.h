// Arguments of the engine's f32 epilogue (f64 group sums, f32 outputs kept in the residual stream). Host-safe:
// the engine's host code fills them; the formula is epilogueF32With (btc-epilogue.cuh), applied by the
// engine's epilogue and prep kernels and by the CTA-local decode GEMV.
#pragma once
#include <cstdint>

namespace abq {

struct EpiF32Args {
  int m, n, k, groupSize, actGroup;
  uint32_t* acc;  // [M][N][G], zeroed after reading
  const float* xScales; const uint8_t* xZeros; const uint32_t* xSums;
  const float* wScales; const uint8_t* wZeros; const uint32_t* wSums;
  const float* bias;
  float* y;              // [M][N]
  const float* residual; // [M][N] added after rounding (may alias y), or nullptr
};

}  // namespace abq

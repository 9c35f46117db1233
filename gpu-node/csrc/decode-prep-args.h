// Arguments of the fused-prep decode GEMV (btc-decode-prep-kernel.cuh): the one activation row it
// normalizes and quantizes itself. Host-safe: the engine fills them.
#pragma once

namespace abq {

struct DecodePrepArgs {
  const float* x;      // f32 [K]: the row (the residual stream, or the attention output)
  const float* normW;  // RMSNorm weight [K] (f32), or nullptr: the row as it is
  const float* up;     // SwiGLU: the row is silu(x) * up (f64, rounded once: shared/model/mlp.ts); or nullptr
  double eps;          // RMSNorm epsilon
  int bits;            // activation bits q (per token, the whole row is one activation group)
  int sumGroup;        // code sums per this many elements: the weight group (K: per channel)
};

}  // namespace abq

// One linear layer of the engine: packed (abq::Linear), dense f32 or dense fp16, possibly several of
// the model's layers concatenated along N at load (q/k/v, gate/up) when their specs match.
// forward() prepares the input itself (RMSNorm / SwiGLU fused with the activation quantizer) and writes
// f32 outputs, optionally adding the residual; large M runs in chunks so workspaces stay bounded.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine-types.h"
#include "ops.cuh"

namespace abq::engine {

/** Scratch shared by all layers (they run one after another on one stream); sized by the engine. */
struct LinearArena {
  int chunk = 0;  // most tokens per inner call
  uint32_t* planes = nullptr; float* scales = nullptr; uint8_t* zeros = nullptr; uint32_t* sums = nullptr;
  float* xf32 = nullptr; __half* xf16 = nullptr; __half* yf16 = nullptr;
  uint32_t* acc = nullptr;  // zero between calls
};

/** Element counts a layer needs from the arena for `chunk` tokens. */
struct ArenaNeeds {
  size_t planes = 0, scales = 0, sums = 0, xf32 = 0, xf16 = 0, yf16 = 0, acc = 0;
  void maxWith(const ArenaNeeds& o);
};

/** True when these layers can share one launch (same kind, K and quantization spec). */
bool canFuse(const std::vector<const HostLinear*>& parts);

class EngineLinear {
 public:
  EngineLinear(const std::vector<const HostLinear*>& parts, cudaStream_t stream);
  ~EngineLinear();
  EngineLinear(const EngineLinear&) = delete;
  EngineLinear& operator=(const EngineLinear&) = delete;

  int n() const { return n_; }
  int k() const { return k_; }
  WeightKind kind() const { return kind_; }
  /** Bytes read per call: the file's packed bytes (p N K / 8 + scales/zeros) or the dense matrix. */
  double streamBytes() const { return streamBytes_; }
  ArenaNeeds needs(int chunk) const;
  /** Sizes the layer's own workspace (weight-only layers) for `chunk` tokens at load, before any graph capture. */
  void reserve(int chunk) const;
  /** Builds the large-M kernel's second weight layout at load when calls of `chunk` tokens will use it. */
  void prepareWeights(int chunk, cudaStream_t stream) const;
  std::string planName(int m) const;
  std::string specText() const;

  /**
   * y = this layer applied to the prepared src (+ residual). With `defer` and few rows (decode) the
   * epilogue is not launched: *defer describes it, and the caller hands it to the next layer's prep as
   * src.pending, which must run before anything else touches ws.acc / ws.yf16 or this call's activation
   * parameters (scales, zeros, sums: the next layer uses the other arena's). defer->kind says which.
   */
  void forward(const PrepSource& src, int m, float* y, const float* residual, const LinearArena& ws,
               cudaStream_t stream, PendingEpilogue* defer = nullptr) const;

 private:
  WeightKind kind_;
  int n_, k_;
  LinearSpec spec_{};
  std::unique_ptr<Linear> packed_;
  void* dense_ = nullptr;  // float or __half [N][K]
  float* denseBias_ = nullptr;
  double streamBytes_ = 0;
};

}  // namespace abq::engine

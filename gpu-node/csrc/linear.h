// A packed linear layer on the GPU: owns the repacked weights and a grow-only workspace, and runs
// activation quantize + pack, the accumulate kernel the plan picks, and the epilogue.
// Shape and configuration checks live here, so the binding and the benchmark share them; every
// error names the operation and the shape.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cstdint>
#include <string>
#include <vector>

#include "decode-prep-args.h"
#include "epilogue-f32-args.h"

namespace abq {

struct BtcPlan;

constexpr int kA16 = 16;  // activation bits meaning "weight-only"

struct LinearSpec {
  int n, k;
  int wbits;      // p, 1..8
  int groupSize;  // weight group along K; <= 0 or >= K: per channel
  int abits;      // q, 1..8, or 16 (weight-only)
  int actGroup;   // activation group; <= 0 or >= K: per token
};

/** Host copies of what the debug path returns (for the bit-exact tests). */
struct ForwardDebug {
  int wordsPad = 0;
  std::vector<uint32_t> actPlanes;  // [q][M][wordsPad]
  std::vector<float> actScales;     // [M][Ga]
  std::vector<uint8_t> actZeros;    // [M][Ga]
  std::vector<uint32_t> actSums;    // [M][G]
  std::vector<uint32_t> acc;        // [M][N][G]
};

/** Device info; throws AbqError naming the failing call when no usable device is present. */
struct DeviceInfo {
  int count, major, minor, smCount, runtimeVersion, driverVersion;
  size_t totalMem;
  std::string name;
};
DeviceInfo queryDevice();

class Linear {
 public:
  /** Uploads canonical planes u32 [p][N][W], scales f32 [N][G], zeros u8 [N][G], bias f32 [N] (or null). */
  Linear(const LinearSpec& spec, const uint32_t* planes, const float* scales, const uint8_t* zeros,
         const float* bias, cudaStream_t stream);
  ~Linear();
  Linear(const Linear&) = delete;
  Linear& operator=(const Linear&) = delete;

  const LinearSpec& spec() const { return spec_; }
  /** Bytes of the packed weights as stored in the file (p N K / 8), for GB/s. */
  double weightBytes() const { return static_cast<double>(spec_.wbits) * spec_.n * spec_.k / 8.0; }
  /** Kernel choice for M tokens, e.g. "btc-mma-r8-mt1-s4". */
  std::string planName(int m) const;

  /** Step 1 (A8 and below): quantize + pack x [M][K] into the workspace. No-op for A16. */
  void quantize(const __half* x, int m, cudaStream_t stream);
  /** Step 2: accumulate + epilogue -> y [M][N] (A16: the whole product). Uses step 1's output. */
  void multiply(const __half* x, int m, __half* y, cudaStream_t stream, ForwardDebug* debug = nullptr);
  /** Both steps; with `debug`, also copies activations and accumulators to the host (synchronizes). */
  void forward(const __half* x, int m, __half* y, cudaStream_t stream, ForwardDebug* debug = nullptr);

  std::string shapeText(int m) const;

  // ---- Engine API (additive; gpu-node/csrc/engine): activations prepared by the caller ----
  bool weightOnly() const { return a16_; }
  int wordsPad() const { return wordsPad_; }
  int groupSizeEff() const { return groupSize_; }
  int actGroupEff() const { return actGroup_; }
  int groups() const { return groups_; }
  int actGroups() const { return actGroups_; }
  const float* weightScales() const { return wScales_; }
  const uint8_t* weightZeros() const { return wZeros_; }
  const uint32_t* weightSums() const { return wSums_; }
  const float* bias() const { return bias_; }
  /**
   * A1..8 only: integer accumulators u32 [M][N][G] into `acc` (zero on entry; the caller's epilogue
   * zeroes it again) from activation planes u32 [q][M][wordsPad()] in quantize()'s layout: the decode,
   * split-K or tiled kernel by the plan (the tiled kernel then stores its group sums), no epilogue, and
   * no workspace of this layer. With `finish`, a plan that can finish the outputs inside the GEMV (the
   * CTA-local decode kernel) writes finish->y itself, leaves acc untouched and returns true.
   */
  bool accumulateExternal(const uint32_t* xPlanes, int m, uint32_t* acc, cudaStream_t stream,
                          const EpiF32Args* finish = nullptr) const;
  /**
   * A1..8, one token: the decode GEMV that normalizes (prep.normW) and quantizes the f32 row prep.x itself
   * and writes finish.y (+ residual) in its epilogue, with no activation planes in between. Returns false
   * (nothing launched) where this layer's plan or the row does not allow it (btcAccumulateDecodePrep).
   */
  bool accumulateDecodePrep(const DecodePrepArgs& prep, const EpiF32Args& finish, cudaStream_t stream) const;
  /** Builds the tiled kernel's weight rows the first time a plan needs them (lazily: decode-only layers never pay). */
  void ensureWeightRows(const BtcPlan& plan, cudaStream_t stream) const;
  /**
   * Builds now whatever a call of up to maxM tokens will need beyond the tile layout (the tiled kernel's
   * weight rows, as large again as the packed weights), so a caller that plans its memory at load (the
   * engine) counts it as weights instead of meeting it at the first prefill.
   */
  void prepareFor(int maxM, cudaStream_t stream) const;
  /** Name of the kernel accumulateExternal runs for M tokens. */
  std::string externalPlanName(int m) const;
  /**
   * Allocates multiply()'s workspace for up to maxM tokens now (A16: padded x and split-K partials), so
   * calls captured in CUDA graphs never see it reallocated by a later, larger call.
   */
  void reserveWorkspace(int maxM) { ensureWorkspace(maxM); }

 private:
  void ensureWorkspace(int m);
  void release();
  template <typename T> static T* alloc(size_t count);

  LinearSpec spec_;
  int groupSize_, actGroup_, groups_, actGroups_, wordsPad_, smCount_;
  bool a16_, generic_;
  // Weights (device).
  uint32_t* wTile_ = nullptr;   // BTC or A16 tile layout
  uint32_t* wCanon_ = nullptr;  // canonical planes, kept only for the generic path
  mutable uint32_t* wRows_ = nullptr;  // weight plane rows of the tiled kernel, built at the first large-M call
  float* wScales_ = nullptr; uint8_t* wZeros_ = nullptr; uint32_t* wSums_ = nullptr;  // BTC [N][G]
  float* tScales_ = nullptr; uint8_t* tZeros_ = nullptr;                               // A16 [G][nPad]
  float* bias_ = nullptr;
  // Workspace (device), grown to the largest M seen.
  int wsTokens_ = 0;
  uint32_t* xPlanes_ = nullptr; float* xScales_ = nullptr; uint8_t* xZeros_ = nullptr; uint32_t* xSums_ = nullptr;
  uint32_t* acc_ = nullptr; __half* xPadded_ = nullptr; float* partial_ = nullptr; unsigned* counters_ = nullptr;
};

}  // namespace abq

// Linear: upload + repack at load, and the per-call sequence (linear.h).
#include "linear.h"
#include "a16-gemm.cuh"
#include "act-quant.cuh"
#include "btc-gemm.cuh"
#include "btc-layout.cuh"
#include "cuda-check.cuh"

#include <algorithm>

namespace abq {
namespace {

int effectiveGroup(int k, int g) { return g <= 0 || g >= k ? k : g; }

template <typename T>
void freeDevice(T*& p) {
  if (p) cudaFree(p);  // teardown: an error here has nowhere useful to go
  p = nullptr;
}

}  // namespace

DeviceInfo queryDevice() {
  DeviceInfo d{};
  CUDA_CHECK(cudaGetDeviceCount(&d.count));
  if (d.count < 1) throw AbqError("cudaGetDeviceCount returned 0 devices");
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  CUDA_CHECK(cudaRuntimeGetVersion(&d.runtimeVersion));
  CUDA_CHECK(cudaDriverGetVersion(&d.driverVersion));
  d.major = prop.major; d.minor = prop.minor; d.smCount = prop.multiProcessorCount;
  d.totalMem = prop.totalGlobalMem; d.name = prop.name;
  return d;
}

std::string Linear::shapeText(int m) const {
  return "M=" + std::to_string(m) + " N=" + std::to_string(spec_.n) + " K=" + std::to_string(spec_.k) +
         " W" + std::to_string(spec_.wbits) + "A" + std::to_string(spec_.abits) + " group=" +
         std::to_string(groupSize_) + " actGroup=" + std::to_string(actGroup_);
}

template <typename T>
T* Linear::alloc(size_t count) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(count, 1) * sizeof(T)));
  return static_cast<T*>(p);
}

Linear::Linear(const LinearSpec& spec, const uint32_t* planes, const float* scales, const uint8_t* zeros,
               const float* bias, cudaStream_t stream)
    : spec_(spec) {
  const int n = spec.n, k = spec.k, p = spec.wbits;
  if (n < 1 || k < 1) throw AbqError("Linear: N and K must be positive, got N=" + std::to_string(n) + " K=" + std::to_string(k));
  if (p < 1 || p > 8) throw AbqError("Linear: weight bits must be 1..8, got " + std::to_string(p));
  if (!(spec.abits == kA16 || (spec.abits >= 1 && spec.abits <= 8)))
    throw AbqError("Linear: activation bits must be 1..8 or 16, got " + std::to_string(spec.abits));
  a16_ = spec.abits == kA16;
  groupSize_ = effectiveGroup(k, spec.groupSize);
  actGroup_ = effectiveGroup(k, spec.actGroup);
  groups_ = ceilDiv(k, groupSize_);
  actGroups_ = ceilDiv(k, actGroup_);
  const int words = ceilDiv(k, 32);
  wordsPad_ = ceilDiv(words, kPairWords) * kPairWords;
  if (!a16_ && groupSize_ != k && groupSize_ % 32 != 0)
    throw AbqError("Linear " + shapeText(0) + ": weight group must be K or a multiple of 32");
  if (!a16_ && actGroup_ != k && actGroup_ % groupSize_ != 0)
    throw AbqError("Linear " + shapeText(0) + ": activation group must be K or a multiple of the weight group");
  if (a16_ && !a16SupportsGroup(k, groupSize_))
    throw AbqError("Linear " + shapeText(0) + ": weight-only layers need a group of K or a multiple of 64");
  generic_ = !a16_ && !btcTiledSupportsGroup(k, groupSize_);
  DeviceInfo dev = queryDevice();
  smCount_ = dev.smCount;

  const size_t canonWords = static_cast<size_t>(p) * n * words;
  uint32_t* canon = alloc<uint32_t>(canonWords);
  float* dScales = alloc<float>(static_cast<size_t>(n) * groups_);
  uint8_t* dZeros = alloc<uint8_t>(static_cast<size_t>(n) * groups_);
  try {
    CUDA_CHECK(cudaMemcpyAsync(canon, planes, canonWords * 4, cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemcpyAsync(dScales, scales, static_cast<size_t>(n) * groups_ * 4, cudaMemcpyHostToDevice, stream));
    CUDA_CHECK(cudaMemcpyAsync(dZeros, zeros, static_cast<size_t>(n) * groups_, cudaMemcpyHostToDevice, stream));
    if (bias) {
      bias_ = alloc<float>(n);
      CUDA_CHECK(cudaMemcpyAsync(bias_, bias, static_cast<size_t>(n) * 4, cudaMemcpyHostToDevice, stream));
    }
    if (a16_) {
      const int nPad = ceilDiv(n, kTileN) * kTileN;
      wTile_ = alloc<uint32_t>(a16TileWords(p, n, k));
      tScales_ = alloc<float>(static_cast<size_t>(groups_) * nPad);
      tZeros_ = alloc<uint8_t>(static_cast<size_t>(groups_) * nPad);
      a16Repack(canon, dScales, dZeros, p, n, k, groupSize_, wTile_, tScales_, tZeros_, stream);
    } else {
      wSums_ = alloc<uint32_t>(static_cast<size_t>(n) * groups_);
      weightCodeSums(canon, p, n, k, groupSize_, wSums_, stream);
      if (!generic_) {
        wTile_ = alloc<uint32_t>(btcTileWords(p, n, k));
        btcRepack(canon, p, n, k, wTile_, stream);
      }
    }
    CUDA_CHECK(cudaStreamSynchronize(stream));
  } catch (...) {
    cudaFree(canon); cudaFree(dScales); cudaFree(dZeros);
    release();  // a throwing constructor runs no destructor
    throw;
  }
  if (a16_) {
    cudaFree(canon); cudaFree(dScales); cudaFree(dZeros);
  } else {
    wScales_ = dScales; wZeros_ = dZeros;
    if (generic_) wCanon_ = canon; else cudaFree(canon);
  }
}

Linear::~Linear() { release(); }

void Linear::release() {
  freeDevice(wTile_); freeDevice(wCanon_); freeDevice(wRows_); freeDevice(wScales_); freeDevice(wZeros_); freeDevice(wSums_);
  freeDevice(tScales_); freeDevice(tZeros_); freeDevice(bias_);
  freeDevice(xPlanes_); freeDevice(xScales_); freeDevice(xZeros_); freeDevice(xSums_); freeDevice(acc_);
  freeDevice(xPadded_); freeDevice(partial_); freeDevice(counters_);
}

void Linear::ensureWorkspace(int m) {
  if (m <= wsTokens_) return;
  freeDevice(xPlanes_); freeDevice(xScales_); freeDevice(xZeros_); freeDevice(xSums_); freeDevice(acc_);
  freeDevice(xPadded_); freeDevice(partial_); freeDevice(counters_);
  const int n = spec_.n, k = spec_.k;
  if (a16_) {
    xPadded_ = alloc<__half>(static_cast<size_t>(m) * a16PaddedK(spec_.wbits, k));
    // The split-K partials of the largest need of any M up to m: smaller M split more, so sizing for m's
    // plan alone left too little for a later smaller call (an 8-token step after a 2048-token prefill
    // wrote past it: found by the engine benchmark).
    size_t partial = 0;
    for (int mm = 1; mm <= m; mm++) {
      A16Problem pr{mm, n, k, spec_.wbits, groupSize_};
      partial = std::max(partial, a16PartialFloats(pr, a16Plan(pr, smCount_)));
    }
    partial_ = alloc<float>(partial);
  } else {
    xPlanes_ = alloc<uint32_t>(static_cast<size_t>(spec_.abits) * m * wordsPad_);
    xScales_ = alloc<float>(static_cast<size_t>(m) * actGroups_);
    xZeros_ = alloc<uint8_t>(static_cast<size_t>(m) * actGroups_);
    xSums_ = alloc<uint32_t>(static_cast<size_t>(m) * groups_);
    acc_ = alloc<uint32_t>(static_cast<size_t>(m) * n * groups_);
    // The accumulate kernels add into acc and the epilogue zeroes what it reads, so it starts at 0;
    // the fused epilogue's arrival counters likewise return to 0 after every call.
    CUDA_CHECK(cudaMemset(acc_, 0, static_cast<size_t>(m) * n * groups_ * sizeof(uint32_t)));
    counters_ = alloc<unsigned>(btcCounterCount(n));
    CUDA_CHECK(cudaMemset(counters_, 0, btcCounterCount(n) * sizeof(unsigned)));
  }
  wsTokens_ = m;
}

std::string Linear::planName(int m) const {
  if (a16_) {
    A16Problem pr{m, spec_.n, spec_.k, spec_.wbits, groupSize_};
    return a16Plan(pr, smCount_).name;
  }
  BtcProblem pr{m, spec_.n, spec_.k, spec_.wbits, spec_.abits, groupSize_, wTile_, wCanon_};
  return btcPlan(pr, smCount_).name;
}

void Linear::quantize(const __half* x, int m, cudaStream_t stream) {
  if (a16_) return;
  ensureWorkspace(m);
  actQuantPack(x, m, spec_.k, spec_.abits, actGroup_, groupSize_, ActQuantOut{xPlanes_, xScales_, xZeros_, xSums_, wordsPad_},
               stream);
}

void Linear::multiply(const __half* x, int m, __half* y, cudaStream_t stream, ForwardDebug* debug) {
  ensureWorkspace(m);
  if (a16_) {
    A16Problem pr{m, spec_.n, spec_.k, spec_.wbits, groupSize_, wTile_, tScales_, tZeros_, x, xPadded_, partial_, bias_, y};
    a16Gemm(pr, a16Plan(pr, smCount_), stream);
    return;
  }
  try {
    EpilogueArgs e{m, spec_.n, spec_.k, groupSize_, actGroup_, acc_, xScales_, xZeros_, xSums_, wScales_, wZeros_, wSums_, bias_, y};
    BtcProblem pr{m, spec_.n, spec_.k, spec_.wbits, spec_.abits, groupSize_, wTile_, wCanon_, xPlanes_, wordsPad_, acc_,
                  counters_, e};
    BtcPlan plan = btcPlan(pr, smCount_);
    ensureWeightRows(plan, stream);
    pr.wrows = wRows_;
    if (debug) {  // the epilogue zeroes acc, so read it first
      plan.skipEpilogue = true;
      btcAccumulate(pr, plan, stream);
      CUDA_CHECK(cudaStreamSynchronize(stream));
      debug->acc.resize(static_cast<size_t>(m) * spec_.n * groups_);
      CUDA_CHECK(cudaMemcpy(debug->acc.data(), acc_, debug->acc.size() * 4, cudaMemcpyDeviceToHost));
      btcEpilogue(e, stream);
    } else {
      btcAccumulate(pr, plan, stream);
    }
  } catch (...) {
    wsTokens_ = 0;  // acc may hold partial sums: reallocate (and zero) it on the next call
    throw;
  }
}

void Linear::forward(const __half* x, int m, __half* y, cudaStream_t stream, ForwardDebug* debug) {
  if (m < 1) throw AbqError("Linear.forward: M must be >= 1, got " + std::to_string(m));
  quantize(x, m, stream);
  multiply(x, m, y, stream, a16_ ? nullptr : debug);
  if (!debug || a16_) return;
  CUDA_CHECK(cudaStreamSynchronize(stream));
  debug->wordsPad = wordsPad_;
  auto copy = [&](auto& vec, const auto* src, size_t count) {
    vec.resize(count);
    CUDA_CHECK(cudaMemcpy(vec.data(), src, count * sizeof(vec[0]), cudaMemcpyDeviceToHost));
  };
  copy(debug->actPlanes, xPlanes_, static_cast<size_t>(spec_.abits) * m * wordsPad_);
  copy(debug->actScales, xScales_, static_cast<size_t>(m) * actGroups_);
  copy(debug->actZeros, xZeros_, static_cast<size_t>(m) * actGroups_);
  copy(debug->actSums, xSums_, static_cast<size_t>(m) * groups_);
}

bool Linear::accumulateExternal(const uint32_t* xPlanes, int m, uint32_t* acc, cudaStream_t stream,
                                const EpiF32Args* finish) const {
  if (a16_) throw AbqError("Linear.accumulateExternal " + shapeText(m) + ": weight-only layers take fp16 activations (multiply)");
  if (m < 1) throw AbqError("Linear.accumulateExternal: M must be >= 1, got " + std::to_string(m));
  EpilogueArgs e{m, spec_.n, spec_.k, groupSize_, actGroup_, acc, nullptr, nullptr, nullptr, wScales_, wZeros_, wSums_, bias_, nullptr};
  BtcProblem pr{m, spec_.n, spec_.k, spec_.wbits, spec_.abits, groupSize_, wTile_, wCanon_, xPlanes, wordsPad_, acc,
                nullptr, e};
  BtcPlan plan = btcPlan(pr, smCount_);
  plan.skipEpilogue = true;
  ensureWeightRows(plan, stream);
  pr.wrows = wRows_;
  pr.finishF32 = plan.decodeCta ? finish : nullptr;
  btcAccumulate(pr, plan, stream);
  return pr.finishF32 != nullptr;
}

bool Linear::accumulateDecodePrep(const DecodePrepArgs& prep, const EpiF32Args& finish, cudaStream_t stream) const {
  if (a16_) return false;
  EpilogueArgs e{1, spec_.n, spec_.k, groupSize_, actGroup_, nullptr, nullptr, nullptr, nullptr, wScales_, wZeros_, wSums_, bias_, nullptr};
  BtcProblem pr{1, spec_.n, spec_.k, spec_.wbits, spec_.abits, groupSize_, wTile_, wCanon_, nullptr, wordsPad_, nullptr, nullptr, e};
  BtcPlan plan = btcPlan(pr, smCount_);
  plan.skipEpilogue = true;
  return btcAccumulateDecodePrep(pr, plan, prep, finish, smCount_, stream);
}

void Linear::prepareFor(int maxM, cudaStream_t stream) const {
  if (a16_ || maxM < 1) return;
  BtcProblem pr{maxM, spec_.n, spec_.k, spec_.wbits, spec_.abits, groupSize_, wTile_, wCanon_};
  ensureWeightRows(btcPlan(pr, smCount_), stream);
}

void Linear::ensureWeightRows(const BtcPlan& plan, cudaStream_t stream) const {
  if (!plan.tiled || wRows_) return;  // lazily: decode-only layers never pay the second layout
  wRows_ = alloc<uint32_t>(btcWeightRowsWords(spec_.wbits, spec_.n, spec_.k));
  btcWeightRows(wTile_, spec_.wbits, spec_.n, spec_.k, wRows_, stream);
}

std::string Linear::externalPlanName(int m) const {
  if (a16_) return planName(m);
  BtcProblem pr{m, spec_.n, spec_.k, spec_.wbits, spec_.abits, groupSize_, wTile_, wCanon_};
  BtcPlan plan = btcPlan(pr, smCount_);
  if (plan.generic || plan.tiled) return plan.name;
  if (plan.wideFragments > 0) return "btc-decw-r" + std::to_string(plan.rowsPerToken) + "-f" + std::to_string(plan.wideFragments) + "-w" + std::to_string(plan.splits);
  if (plan.decodeCta) return "btc-decc-r" + std::to_string(plan.rowsPerToken) + "-w" + std::to_string(plan.splits);
  if (plan.decode) return "btc-dec-r" + std::to_string(plan.rowsPerToken) + "-s" + std::to_string(plan.splits);
  return "btc-mma-r" + std::to_string(plan.rowsPerToken) + "-mt" + std::to_string(plan.mTiles) + "-s" + std::to_string(plan.splits);
}

}  // namespace abq

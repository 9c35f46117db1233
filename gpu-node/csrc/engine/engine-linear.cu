// EngineLinear: load-time concatenation and upload, and the per-call sequence (engine-linear.h).
#include "engine-linear.h"
#include "cuda-check.cuh"

#include <algorithm>
#include <cstdlib>

namespace abq::engine {
namespace {

int words32(int k) { return (k + 31) / 32; }
int effGroup(int k, int g) { return g <= 0 || g >= k ? k : g; }

// ABQ_ENGINE_GEMV_EPILOGUE=0: decode GEMVs leave their epilogue to the next kernel as before (A/B runs).
bool gemvEpilogueEnabled() {
  static const bool on = [] { const char* v = std::getenv("ABQ_ENGINE_GEMV_EPILOGUE"); return !(v && v[0] == '0'); }();
  return on;
}

// ABQ_ENGINE_FUSED_PREP=1: a one-token GEMV whose input is a plain, RMS-normalized or SwiGLU row prepares and
// quantizes it itself (btc-decode-prep-kernel.cuh) instead of after a prep kernel; "2": not the SwiGLU rows
// (down_proj keeps its prep kernel: every CTA computing 11,008 f64 exps may cost more than the launch it
// saves). Opt-in until a device run has checked it.
int fusedPrepMode() {
  static const int mode = [] { const char* v = std::getenv("ABQ_ENGINE_FUSED_PREP"); return v && (v[0] == '1' || v[0] == '2') ? v[0] - '0' : 0; }();
  return mode;
}

bool sameSpec(const HostLinear& a, const HostLinear& b) {
  if (a.kind != b.kind || a.spec.k != b.spec.k || (a.bias == nullptr) != (b.bias == nullptr)) return false;
  if (a.kind != WeightKind::kPacked) return true;
  return a.spec.wbits == b.spec.wbits && effGroup(a.spec.k, a.spec.groupSize) == effGroup(b.spec.k, b.spec.groupSize) &&
         a.spec.abits == b.spec.abits && effGroup(a.spec.k, a.spec.actGroup) == effGroup(b.spec.k, b.spec.actGroup);
}

template <typename T>
T* upload(const T* host, size_t count, cudaStream_t stream) {
  T* d = nullptr;
  CUDA_CHECK(cudaMalloc(&d, std::max<size_t>(count, 1) * sizeof(T)));
  CUDA_CHECK(cudaMemcpyAsync(d, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  return d;
}

}  // namespace

void ArenaNeeds::maxWith(const ArenaNeeds& o) {
  planes = std::max(planes, o.planes); scales = std::max(scales, o.scales); sums = std::max(sums, o.sums);
  xf32 = std::max(xf32, o.xf32); xf16 = std::max(xf16, o.xf16); yf16 = std::max(yf16, o.yf16); acc = std::max(acc, o.acc);
}

bool canFuse(const std::vector<const HostLinear*>& parts) {
  for (size_t i = 1; i < parts.size(); i++)
    if (!sameSpec(*parts[0], *parts[i])) return false;
  return true;
}

EngineLinear::EngineLinear(const std::vector<const HostLinear*>& parts, cudaStream_t stream) {
  if (parts.empty() || !canFuse(parts)) throw AbqError("EngineLinear: layers to concatenate must share kind, K and spec");
  const HostLinear& first = *parts[0];
  kind_ = first.kind;
  k_ = first.spec.k;
  n_ = 0;
  for (auto* p : parts) n_ += p->spec.n;
  spec_ = first.spec;
  spec_.n = n_;
  const bool hasBias = first.bias != nullptr;
  std::vector<float> bias;
  if (hasBias) for (auto* p : parts) bias.insert(bias.end(), p->bias, p->bias + p->spec.n);
  if (kind_ == WeightKind::kPacked) {
    const int w = words32(k_), bits = spec_.wbits, groups = (k_ + effGroup(k_, spec_.groupSize) - 1) / effGroup(k_, spec_.groupSize);
    const HostLinear* only = parts.size() == 1 ? parts[0] : nullptr;
    std::vector<uint32_t> planes;
    std::vector<float> scales;
    std::vector<uint8_t> zeros;
    if (!only) {  // planes [p][N][W]: each plane is the parts' rows in order
      planes.reserve(static_cast<size_t>(bits) * n_ * w);
      for (int j = 0; j < bits; j++)
        for (auto* p : parts) {
          const uint32_t* src = p->planes + static_cast<size_t>(j) * p->spec.n * w;
          planes.insert(planes.end(), src, src + static_cast<size_t>(p->spec.n) * w);
        }
      for (auto* p : parts) {
        scales.insert(scales.end(), p->scales, p->scales + static_cast<size_t>(p->spec.n) * groups);
        zeros.insert(zeros.end(), p->zeros, p->zeros + static_cast<size_t>(p->spec.n) * groups);
      }
    }
    packed_ = std::make_unique<Linear>(spec_, only ? only->planes : planes.data(), only ? only->scales : scales.data(),
                                       only ? only->zeros : zeros.data(), hasBias ? bias.data() : nullptr, stream);
    streamBytes_ = static_cast<double>(bits) * n_ * k_ / 8.0 + static_cast<double>(n_) * groups * 5.0;
  } else {
    const bool half = kind_ == WeightKind::kDenseF16;
    const size_t elem = half ? 2 : 4;
    char* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, static_cast<size_t>(n_) * k_ * elem));
    size_t off = 0;
    for (auto* p : parts) {
      const void* src = half ? static_cast<const void*>(p->denseF16) : static_cast<const void*>(p->denseF32);
      if (!src) throw AbqError("EngineLinear: dense layer " + std::to_string(p->spec.n) + "x" + std::to_string(k_) + " has no weights");
      const size_t bytes = static_cast<size_t>(p->spec.n) * k_ * elem;
      CUDA_CHECK(cudaMemcpyAsync(d + off, src, bytes, cudaMemcpyHostToDevice, stream));
      off += bytes;
    }
    dense_ = d;
    if (hasBias) denseBias_ = upload(bias.data(), bias.size(), stream);
    streamBytes_ = static_cast<double>(n_) * k_ * elem;
  }
  CUDA_CHECK(cudaStreamSynchronize(stream));  // host vectors above die with this scope
}

EngineLinear::~EngineLinear() {
  if (dense_) cudaFree(dense_);
  if (denseBias_) cudaFree(denseBias_);
}

ArenaNeeds EngineLinear::needs(int chunk) const {
  ArenaNeeds a;
  const size_t c = chunk;
  if (kind_ != WeightKind::kPacked) { a.xf32 = c * k_; return a; }
  if (packed_->weightOnly()) { a.xf16 = c * k_; a.yf16 = c * n_; return a; }
  a.planes = static_cast<size_t>(spec_.abits) * c * packed_->wordsPad();
  a.scales = c * packed_->actGroups();
  a.sums = c * packed_->groups();
  a.acc = c * n_ * packed_->groups();
  return a;
}

void EngineLinear::reserve(int chunk) const {
  // Only weight-only layers use Linear's own workspace here (BTC layers accumulate into the engine's arena).
  if (kind_ == WeightKind::kPacked && packed_->weightOnly()) packed_->reserveWorkspace(chunk);
}

void EngineLinear::prepareWeights(int chunk, cudaStream_t stream) const {
  if (kind_ == WeightKind::kPacked && !packed_->weightOnly()) packed_->prepareFor(chunk, stream);
}

std::string EngineLinear::planName(int m) const {
  if (kind_ == WeightKind::kDenseF32) return "dense-f32";
  if (kind_ == WeightKind::kDenseF16) return "dense-f16";
  return packed_->externalPlanName(m);
}

std::string EngineLinear::specText() const {
  std::string s = std::to_string(n_) + "x" + std::to_string(k_) + " ";
  if (kind_ == WeightKind::kDenseF32) return s + "f32";
  if (kind_ == WeightKind::kDenseF16) return s + "f16";
  s += "W" + std::to_string(spec_.wbits) + "A" + std::to_string(spec_.abits);
  const int g = effGroup(k_, spec_.groupSize);
  return s + (g == k_ ? "" : " g" + std::to_string(g));
}

void EngineLinear::forward(const PrepSource& src, int m, float* y, const float* residual, const LinearArena& ws,
                           cudaStream_t stream, PendingEpilogue* defer) const {
  const bool deferOk = defer && kind_ == WeightKind::kPacked && m <= ws.chunk && m <= kFuseEpilogueMaxRows;
  if (defer) *defer = PendingEpilogue{};
  if (src.pending.kind != kPendingNone && (m > ws.chunk || src.rowIndex))
    throw AbqError("EngineLinear: a pending epilogue needs one chunk and no row gather (m=" + std::to_string(m) + ")");
  for (int r0 = 0; r0 < m; r0 += ws.chunk) {
    const int mc = std::min(ws.chunk, m - r0);
    PrepSource s = src;
    if (s.rowIndex) s.rowIndex += r0;
    else {
      s.x += static_cast<size_t>(r0) * s.xStride;
      if (s.x2) s.x2 += static_cast<size_t>(r0) * s.x2Stride;
    }
    float* yc = y + static_cast<size_t>(r0) * n_;
    const float* rc = residual ? residual + static_cast<size_t>(r0) * n_ : nullptr;
    PrepTarget t{};
    t.k = k_;
    if (kind_ != WeightKind::kPacked) {
      t.kind = kOutF32; t.f32 = ws.xf32;
      prepActivations(s, t, mc, stream);
      denseGemm(ws.xf32, mc, k_, dense_, kind_ == WeightKind::kDenseF16, n_, denseBias_, yc, rc, stream);
    } else if (packed_->weightOnly()) {
      t.kind = kOutF16; t.f16 = ws.xf16;
      prepActivations(s, t, mc, stream);
      packed_->multiply(ws.xf16, mc, ws.yf16, stream);
      if (deferOk) {
        defer->kind = kPendingHalf; defer->yf16 = ws.yf16;
        defer->e.m = mc; defer->e.n = n_; defer->e.y = yc; defer->e.residual = rc;
        return;
      }
      halfToFloat(ws.yf16, mc, n_, yc, rc, stream);
    } else {
      EpiF32Args e{mc, n_, k_, packed_->groupSizeEff(), packed_->actGroupEff(), ws.acc, ws.scales, ws.zeros, ws.sums,
                   packed_->weightScales(), packed_->weightZeros(), packed_->weightSums(), packed_->bias(), yc, rc};
      const int fused = fusedPrepMode();
      if (mc == 1 && s.fusedPrepOk && (fused == 1 || (fused == 2 && s.mode != kPrepSwiglu)) && gemvEpilogueEnabled() &&
          s.pending.kind == kPendingNone && !s.rowIndex && packed_->actGroupEff() >= k_) {
        // The GEMV prepares the row itself; its epilogue takes the activation parameters from shared memory.
        const DecodePrepArgs pa{s.x, s.mode == kPrepNorm ? s.normW : nullptr, s.mode == kPrepSwiglu ? s.x2 : nullptr, s.eps,
                                spec_.abits, packed_->groupSizeEff()};
        if (packed_->accumulateDecodePrep(pa, e, stream)) continue;
      }
      t.kind = kOutPlanes;
      t.bits = spec_.abits; t.actGroup = packed_->actGroupEff(); t.sumGroup = packed_->groupSizeEff();
      t.wordsPad = packed_->wordsPad();
      t.planes = ws.planes; t.scales = ws.scales; t.zeros = ws.zeros; t.sums = ws.sums;
      prepActivations(s, t, mc, stream);
      // Decode: the CTA-local GEMV finishes its outputs itself (no deferred epilogue, acc untouched).
      if (packed_->accumulateExternal(ws.planes, mc, ws.acc, stream, gemvEpilogueEnabled() ? &e : nullptr)) continue;
      if (deferOk) {
        defer->kind = kPendingBtc; defer->e = e;
        defer->groups = (k_ + e.groupSize - 1) / e.groupSize;  // as epilogueF32 computes them
        defer->actGroups = (k_ + e.actGroup - 1) / e.actGroup;
        return;
      }
      epilogueF32(e, stream);
    }
  }
}

}  // namespace abq::engine

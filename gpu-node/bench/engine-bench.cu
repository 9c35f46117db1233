// Engine benchmark on a synthetic LLaMA-2-7B-shape model (random packed weights generated here,
// labelled synthetic): for each config, decode tok/s at batch 1/8/32/64 (CUDA graphs on), prefill
// tok/s and time to first token for 512- and 2048-token prompts, GPU memory, and the share of the
// weight-bandwidth limit at batch 1 (weight bytes per step / measured copy bandwidth). The fp16
// baseline runs every linear as dense fp16 in the same engine (cuBLAS when it can be loaded:
// ABQ_CUBLAS=<path to libcublas.so>, else the engine's own dense kernel; the row says which).
//
//   abq-engine-bench [--quick] [--configs w4a16g128,w2a8,...] [--out results.jsonl] [--profile] [--fuse-check-only]
//                    [--ncu] [--kv-blocks N] [--late-step]
// Prints one JSON line per config on stdout (and to --out), and a table on stderr.
#include <cuda_fp16.h>
#include <cuda_profiler_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cuda-check.cuh"
#include "engine.h"

using namespace abq;
using namespace abq::engine;

namespace {

constexpr int kDim = 4096, kLayers = 32, kHeads = 32, kKvHeads = 32, kHeadDim = 128, kFfn = 11008, kVocab = 32000;
constexpr int kContext = 4096;
constexpr int kFuseCheckTokens = 8;  // rows of the fused-vs-unfused exactness step (within the fusion limit)
constexpr int kDecodeContext = 128;  // positions already in the cache when decode timing starts
constexpr int kDecodeSteps = 24;

struct Config { std::string name; int wbits, abits, group; bool fp16; };

// ---- cuBLAS through dlopen (no cuBLAS on the build machine; the GPU machine has torch's) ----
using cublasHandle_t = void*;
using FnCreate = int (*)(cublasHandle_t*);
using FnSetStream = int (*)(cublasHandle_t, cudaStream_t);
using FnSetWorkspace = int (*)(cublasHandle_t, void*, size_t);
using FnGemmEx = int (*)(cublasHandle_t, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                         const void*, void*, int, int, int, int);
constexpr int kOpN = 0, kOpT = 1, kR16F = 2, kR32F = 0, kCompute32F = 68, kGemmDefault = -1;
struct Cublas {
  cublasHandle_t h = nullptr;
  FnSetStream setStream = nullptr;
  FnGemmEx gemm = nullptr;
  __half* xh = nullptr;
  size_t xhCount = 0;
} gCublas;
std::string gCublasStatus = "not requested";

__global__ void toHalfKernel(const float* x, size_t n, __half* y) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = __float2half_rn(x[i]);
}

bool cublasDense(const float* x, int m, int k, const void* w, bool wHalf, int n, const float* bias, float* y,
                 const float* residual, cudaStream_t stream) {
  if (!wHalf || bias || (residual && residual != y) || !gCublas.gemm) return false;
  const size_t cnt = static_cast<size_t>(m) * k;
  if (cnt > gCublas.xhCount) return false;
  toHalfKernel<<<static_cast<unsigned>((cnt + 255) / 256), 256, 0, stream>>>(x, cnt, gCublas.xh);
  CUDA_CHECK_LAUNCH("toHalf");
  gCublas.setStream(gCublas.h, stream);
  const float alpha = 1.f, beta = residual ? 1.f : 0.f;
  // Column-major view: y^T (N x M) = W (as K x N, transposed) . x^T (K x M).
  const int st = gCublas.gemm(gCublas.h, kOpT, kOpN, n, m, k, &alpha, w, kR16F, k, gCublas.xh, kR16F, k, &beta, y, kR32F, n,
                              kCompute32F, kGemmDefault);
  if (st != 0) throw AbqError("cublasGemmEx failed with status " + std::to_string(st));
  return true;
}

void loadCublas(size_t maxTokensTimesK) {
  const char* path = std::getenv("ABQ_CUBLAS");
  if (!path || !*path) { gCublasStatus = "ABQ_CUBLAS unset: engine dense kernel"; return; }
  void* lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (!lib) { gCublasStatus = std::string("dlopen failed: ") + dlerror(); return; }
  auto create = reinterpret_cast<FnCreate>(dlsym(lib, "cublasCreate_v2"));
  auto setWs = reinterpret_cast<FnSetWorkspace>(dlsym(lib, "cublasSetWorkspace_v2"));
  gCublas.setStream = reinterpret_cast<FnSetStream>(dlsym(lib, "cublasSetStream_v2"));
  gCublas.gemm = reinterpret_cast<FnGemmEx>(dlsym(lib, "cublasGemmEx"));
  if (!create || !gCublas.setStream || !gCublas.gemm || create(&gCublas.h) != 0) {
    gCublas.gemm = nullptr;
    gCublasStatus = "cuBLAS symbols or handle unavailable";
    return;
  }
  void* ws = nullptr;
  CUDA_CHECK(cudaMalloc(&ws, 64u << 20));
  if (setWs) setWs(gCublas.h, ws, 64u << 20);  // a fixed workspace keeps the GEMMs capturable in graphs
  CUDA_CHECK(cudaMalloc(&gCublas.xh, maxTokensTimesK * sizeof(__half)));
  gCublas.xhCount = maxTokensTimesK;
  gCublasStatus = "cuBLAS";
  setDenseGemmHook(cublasDense);
}

// ---- synthetic weights ----
struct Pool {  // random host data shared by every layer (each layer still gets its own device copy)
  std::vector<uint32_t> bits;
  std::vector<float> scales, embed, norm;
  std::vector<uint8_t> zeros;
  std::vector<uint16_t> f16;
};

void fillPool(Pool& p, const Config& c) {
  std::mt19937_64 rng(1234);
  const size_t maxN = kFfn, maxK = kFfn;
  p.embed.resize(static_cast<size_t>(kVocab) * kDim);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : p.embed) v = nd(rng) * 0.02f;
  p.norm.assign(std::max(kDim, kFfn), 1.f);
  // lm_head and the fp16 baseline: N(0, 1/sqrt(K)) fp16.
  p.f16.resize(std::max(static_cast<size_t>(kVocab) * kDim, maxN * kDim));
  for (size_t i = 0; i < p.f16.size(); i++) {
    const __half h = __float2half_rn(nd(rng) * 0.015f);
    std::memcpy(&p.f16[i], &h, 2);
  }
  if (c.fp16) return;
  p.bits.resize(static_cast<size_t>(c.wbits) * maxN * ((maxK + 31) / 32));
  for (auto& w : p.bits) w = static_cast<uint32_t>(rng());
  const size_t groupsMax = maxN * ((maxK + 31) / 32);
  p.scales.resize(groupsMax);
  p.zeros.resize(groupsMax);
  const float s = 0.03f / static_cast<float>(1 << c.wbits);
  for (size_t i = 0; i < groupsMax; i++) { p.scales[i] = s * (0.5f + (rng() % 1000) / 1000.f); p.zeros[i] = static_cast<uint8_t>(1 << (c.wbits - 1)); }
}

HostLinear makeLinear(const Pool& p, const Config& c, int n, int k) {
  HostLinear h;
  h.spec.n = n; h.spec.k = k;
  if (c.fp16) {
    h.kind = WeightKind::kDenseF16;
    h.denseF16 = reinterpret_cast<const __half*>(p.f16.data());
    return h;
  }
  h.kind = WeightKind::kPacked;
  h.spec.wbits = c.wbits; h.spec.abits = c.abits; h.spec.groupSize = c.group; h.spec.actGroup = 0;
  h.planes = p.bits.data(); h.scales = p.scales.data(); h.zeros = p.zeros.data();
  return h;
}

HostModel makeModel(const Pool& p, const Config& c) {
  HostModel m;
  m.cfg = ModelConfig{kDim, kLayers, kHeads, kKvHeads, kHeadDim, kFfn, kVocab, 1e-5, kContext};
  m.embed = p.embed.data();
  m.finalNorm = p.norm.data();
  for (int l = 0; l < kLayers; l++) {
    HostLayer L;
    L.inputNorm = L.postNorm = p.norm.data();
    L.q = makeLinear(p, c, kHeads * kHeadDim, kDim); L.k = makeLinear(p, c, kKvHeads * kHeadDim, kDim);
    L.v = makeLinear(p, c, kKvHeads * kHeadDim, kDim); L.o = makeLinear(p, c, kDim, kHeads * kHeadDim);
    L.gate = makeLinear(p, c, kFfn, kDim); L.up = makeLinear(p, c, kFfn, kDim); L.down = makeLinear(p, c, kDim, kFfn);
    m.layers.push_back(L);
  }
  m.lmHead.kind = WeightKind::kDenseF16;
  m.lmHead.spec.n = kVocab; m.lmHead.spec.k = kDim;
  m.lmHead.denseF16 = reinterpret_cast<const __half*>(p.f16.data());
  for (int i = 0; i < kHeadDim / 2; i++) m.invFreq.push_back(1.0 / std::pow(10000.0, 2.0 * i / kHeadDim));
  m.description = "synthetic LLaMA-2-7B shape, " + c.name;
  return m;
}

double nowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double median(std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }

/** One step of `seqs` sequences; sequence s uses blocks [s * bps, (s + 1) * bps). */
StepIn makeStep(int seqs, int tokensEach, int position, int bps) {
  StepIn in;
  for (int s = 0; s < seqs; s++) {
    SeqIn q{};
    q.tokenStart = s * tokensEach; q.tokenCount = tokensEach; q.position = position;
    q.tableStart = static_cast<int>(in.blockTables.size());
    q.tableLen = bps;
    q.sample = true; q.logprob = false; q.temperature = 0; q.topP = 1; q.uniform = 0; q.topK = 0;
    for (int b = 0; b < bps; b++) in.blockTables.push_back(s * bps + b);
    for (int i = 0; i < tokensEach; i++) in.tokens.push_back((s * 7919 + i * 104729 + position) % kVocab);
    in.seqs.push_back(q);
  }
  return in;
}

double copyBandwidth() {
  const size_t bytes = 1ull << 30;
  void *a, *b;
  CUDA_CHECK(cudaMalloc(&a, bytes)); CUDA_CHECK(cudaMalloc(&b, bytes));
  CUDA_CHECK(cudaMemset(a, 1, bytes));
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0); cudaEventCreate(&e1);
  std::vector<double> t;
  for (int i = 0; i < 6; i++) {
    cudaEventRecord(e0);
    CUDA_CHECK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
    cudaEventRecord(e1); cudaEventSynchronize(e1);
    float ms = 0; cudaEventElapsedTime(&ms, e0, e1);
    if (i > 0) t.push_back(ms);
  }
  cudaFree(a); cudaFree(b);
  return 2.0 * bytes / (median(t) * 1e-3);  // read + write
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, profile = false, ncu = false, fuseCheckOnly = false, lateStep = false;
  std::string only, outPath;
  int fuseFailures = 0, kvBlocks = 0;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--profile")) profile = true;
    else if (!std::strcmp(argv[i], "--ncu")) ncu = true;  // eager b1 decode steps between cudaProfilerStart/Stop only
    else if (!std::strcmp(argv[i], "--fuse-check-only")) fuseCheckOnly = true;  // the fused-vs-unfused exactness step only
    else if (!std::strcmp(argv[i], "--late-step")) lateStep = true;  // diagnosis: an 8-token all-logits step after prefill
    else if (!std::strcmp(argv[i], "--configs") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) outPath = argv[++i];
    else if (!std::strcmp(argv[i], "--kv-blocks") && i + 1 < argc) kvBlocks = std::atoi(argv[++i]);  // small KV: cheap ncu replays
  }
  std::vector<Config> configs = {{"W4A16 g128", 4, 16, 128, false}, {"W2A8", 2, 8, 0, false}, {"W4A4", 4, 4, 0, false},
                                 {"W6A6", 6, 6, 0, false}, {"W8A8", 8, 8, 0, false}, {"fp16", 16, 16, 0, true}};
  FILE* out = outPath.empty() ? nullptr : std::fopen(outPath.c_str(), "w");
  try {
    const DeviceInfo dev = queryDevice();
    const double bw = copyBandwidth();
    std::fprintf(stderr, "device %s, copy bandwidth %.2f TB/s\n", dev.name.c_str(), bw / 1e12);
    loadCublas(2048ull * kFfn);
    const std::vector<int> batches = quick ? std::vector<int>{1, 32} : std::vector<int>{1, 8, 32, 64};
    const std::vector<int> prompts = quick ? std::vector<int>{512} : std::vector<int>{512, 2048};
    std::fprintf(stderr, "| config | b1 tok/s | b8 | b32 | b64 | b32/b1 | prefill 512 tok/s | prefill 2048 tok/s | TTFT 512 ms | TTFT 2048 ms | weights GB | KV GB | BW share b1 |\n");
    for (const Config& c : configs) {
      std::string key = c.name;
      key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
      for (auto& ch : key) ch = static_cast<char>(std::tolower(ch));
      if (!only.empty() && only.find(key) == std::string::npos) continue;
      Pool pool;
      fillPool(pool, c);
      HostModel model = makeModel(pool, c);
      EngineOptions opts;
      opts.maxSeqs = 64; opts.maxBatchTokens = 2048; opts.kvMemoryFraction = 0.6;
      if (ncu) opts.graphs = false;
      if (kvBlocks > 0) opts.numBlocks = kvBlocks;
      Engine eng(model, opts);
      pool = Pool();
      if (ncu) {  // ncu --profile-from-start off: two eager batch-1 decode steps, nothing else
        const int bps = (kDecodeContext + 8 + opts.blockSize) / opts.blockSize;
        for (int s = 0; s < 2; s++) eng.step(makeStep(1, 1, kDecodeContext + s, bps));
        CUDA_CHECK(cudaProfilerStart());
        for (int s = 2; s < 4; s++) eng.step(makeStep(1, 1, kDecodeContext + s, bps));
        CUDA_CHECK(cudaProfilerStop());
        std::fprintf(stderr, "ncu: profiled 2 batch-1 decode steps of %s\n", c.name.c_str());
        continue;
      }
      const int bs = opts.blockSize;
      std::string json = "{\"config\":\"" + c.name + "\",\"dense\":\"" + (c.fp16 ? gCublasStatus : std::string("-")) +
                         "\",\"description\":\"" + eng.description() + "\"";
      char buf[256];
      std::snprintf(buf, sizeof buf, ",\"weightGB\":%.3f,\"kvGB\":%.3f,\"workspaceGB\":%.3f,\"numBlocks\":%d,\"streamBytes\":%.0f,\"copyBW\":%.4g",
                    eng.memory().weightBytes / 1e9, eng.memory().kvBytes / 1e9, eng.memory().workspaceBytes / 1e9,
                    eng.numBlocks(), eng.weightStreamBytes(), bw);
      json += buf;
      {  // exactness of the decode fusions: eager all-logits steps of 8 tokens and of 1 token (the one-token
         // GEMVs' own fusions: CTA-finished outputs, ABQ_ENGINE_FUSED_PREP), fused vs unfused, bit for bit
        const bool fuseDefault = eng.fuseEpilogues();  // ABQ_ENGINE_FUSE=0 keeps both steps unfused
        bool same = true;
        for (const int tokens : {kFuseCheckTokens, 1}) {
          StepIn in = makeStep(1, tokens, 0, (tokens + bs) / bs);
          in.allLogits = true;
          eng.setFuseEpilogues(false);
          std::fprintf(stderr, "%s: fuse check: unfused step of %d tokens\n", c.name.c_str(), tokens);
          const std::vector<float> plain = eng.step(in).logits;
          eng.setFuseEpilogues(fuseDefault);
          std::fprintf(stderr, "%s: fuse check: fused step of %d tokens\n", c.name.c_str(), tokens);
          const std::vector<float> fused = eng.step(in).logits;
          const bool eq = plain.size() == fused.size() && std::memcmp(plain.data(), fused.data(), plain.size() * sizeof(float)) == 0;
          std::fprintf(stderr, "%s: fused epilogues %s the unfused step's logits (%d tokens, %zu values)\n", c.name.c_str(),
                       eq ? "equal" : "DIFFER FROM", tokens, plain.size());
          same = same && eq;
        }
        json += same ? ",\"fuseCheck\":\"equal\"" : ",\"fuseCheck\":\"DIFFERENT\"";
        if (!same) fuseFailures++;
        if (fuseCheckOnly) continue;
      }
      // Decode.
      std::vector<double> tps(4, 0);
      double b1Step = 0;
      for (size_t bi = 0; bi < batches.size(); bi++) {
        const int B = batches[bi];
        const int bps = (kDecodeContext + kDecodeSteps + 4 + bs - 1) / bs;
        if (B * bps > eng.numBlocks()) { std::fprintf(stderr, "%s: not enough KV blocks for batch %d\n", c.name.c_str(), B); continue; }
        std::vector<double> t;
        for (int s = 0; s < kDecodeSteps + 2; s++) {
          StepIn in = makeStep(B, 1, kDecodeContext + s, bps);
          const double t0 = nowMs();
          StepOut o = eng.step(in);
          const double dt = nowMs() - t0;
          if (s >= 2) {
            if (!o.graphed && opts.graphs) throw AbqError("decode step was not graphed");
            t.push_back(dt);
          }
        }
        const double med = median(t);
        if (B == 1) b1Step = med;
        std::snprintf(buf, sizeof buf, ",\"decode_b%d_ms\":%.4f,\"decode_b%d_tps\":%.1f", B, med, B, B * 1000.0 / med);
        json += buf;
        const int slot = B == 1 ? 0 : B == 8 ? 1 : B == 32 ? 2 : 3;
        tps[slot] = B * 1000.0 / med;
      }
      // Prefill (one sequence; the step includes the lm_head on the last token and sampling: TTFT).
      std::vector<double> pf(2, 0), ttft(2, 0);
      for (size_t pi = 0; pi < prompts.size(); pi++) {
        const int P = prompts[pi];
        const int bps = (P + bs) / bs;
        std::vector<double> t;
        for (int r = 0; r < (quick ? 2 : 4); r++) {
          StepIn in = makeStep(1, P, 0, bps);
          const double t0 = nowMs();
          eng.step(in);
          const double dt = nowMs() - t0;
          if (r > 0) t.push_back(dt);
        }
        const double med = median(t);
        std::snprintf(buf, sizeof buf, ",\"prefill_%d_ms\":%.3f,\"prefill_%d_tps\":%.1f", P, med, P, P * 1000.0 / med);
        json += buf;
        pf[pi] = P * 1000.0 / med; ttft[pi] = med;
      }
      if (lateStep) {
        StepIn in = makeStep(1, kFuseCheckTokens, 0, (kFuseCheckTokens + bs) / bs);
        in.allLogits = true;
        eng.step(in);
        std::fprintf(stderr, "%s: late all-logits step ok\n", c.name.c_str());
      }
      if (profile) {  // where the time of an eager b1 decode step and a 512-token prefill goes
        for (int kind = 0; kind < 2; kind++) {
          const int B = 1, P = kind == 0 ? 1 : 512, bps = (kDecodeContext + 512 + bs) / bs;
          eng.setProfiling(true);
          const int reps = kind == 0 ? 5 : 1;
          for (int r = 0; r < reps; r++) eng.step(makeStep(B, P, kind == 0 ? kDecodeContext + r : 0, bps));
          auto prof = eng.takeProfile();
          eng.setProfiling(false);
          std::string pj = std::string(",\"profile_") + (kind == 0 ? "b1" : "prefill512") + "_ms\":{";
          bool first = true;
          for (auto& [op, ms] : prof) {
            std::fprintf(stderr, "  profile %s %s %-46s %8.3f ms/step\n", c.name.c_str(), kind == 0 ? "b1" : "prefill512", op.c_str(), ms / reps);
            std::snprintf(buf, sizeof buf, "%s\"%s\":%.4f", first ? "" : ",", op.c_str(), ms / reps);
            pj += buf;
            first = false;
          }
          json += pj + "}";
        }
      }
      const double share = b1Step > 0 ? eng.weightStreamBytes() / (b1Step * 1e-3) / bw : 0;
      std::snprintf(buf, sizeof buf, ",\"bwShareB1\":%.4f,\"graphs\":%d}", share, eng.graphsCaptured());
      json += buf;
      std::printf("%s\n", json.c_str());
      std::fflush(stdout);
      if (out) { std::fprintf(out, "%s\n", json.c_str()); std::fflush(out); }
      std::fprintf(stderr, "| %s | %.0f | %.0f | %.0f | %.0f | %.1fx | %.0f | %.0f | %.1f | %.1f | %.2f | %.2f | %.0f%% |\n", c.name.c_str(),
                   tps[0], tps[1], tps[2], tps[3], tps[0] > 0 ? tps[2] / tps[0] : 0, pf[0], pf[1], ttft[0], ttft[1],
                   eng.memory().weightBytes / 1e9, eng.memory().kvBytes / 1e9, share * 100);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine-bench failed: %s\n", e.what());
    if (out) std::fclose(out);
    return 1;
  }
  if (out) std::fclose(out);
  if (fuseFailures) std::fprintf(stderr, "engine-bench: %d configs' fused epilogues differ from the unfused path\n", fuseFailures);
  return fuseFailures ? 1 : 0;
}

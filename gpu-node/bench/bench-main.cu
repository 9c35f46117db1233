// abq-gpu-bench: times Linear (act quantize + pack, accumulate + epilogue) per (shape, config, M)
// with CUDA events, and prints one JSON object per line. No Node needed on the GPU machine.
//
//   abq-gpu-bench [--quick] [--out FILE]
//
// Weights are random bit planes (synthetic: speed does not depend on the values beyond what random
// data exercises). Each measurement rotates through enough copies of the layer to exceed 3x the
// 50 MB L2, so weights stream from HBM as in a real model. Times are medians over the iterations.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cuda-check.cuh"
#include "linear.h"

namespace {

constexpr double kRotateBytes = 160e6;   // > 3x L2 (50 MB)
constexpr int kMaxCopies = 64;
constexpr double kTargetMs = 40.0;       // timed work per measurement
constexpr int kMinIters = 8, kMaxIters = 300;
// The host enqueues the timed iterations behind a sleeping kernel, so the events measure GPU time
// back to back and not the CPU's launch rate (which would dominate microsecond kernels).
constexpr long long kSleepNs = 30'000'000;

__global__ void sleepKernel(long long ns) {
  for (long long t = 0; t < ns; t += 1'000'000) __nanosleep(1'000'000);
}

struct Config { const char* name; int p, q, group; };
const Config kConfigs[] = {
    {"W2A8", 2, 8, 0}, {"W3A8", 3, 8, 0}, {"W4A4", 4, 4, 0}, {"W4A8", 4, 8, 0}, {"W6A6", 6, 6, 0},
    {"W6A8", 6, 8, 0}, {"W8A8", 8, 8, 0}, {"W2A2", 2, 2, 0}, {"W2A4", 2, 4, 0}, {"W3A3", 3, 3, 0}, {"W4A16g128", 4, 16, 128}, {"W2A16g64", 2, 16, 64}};
const int kShapes[][2] = {{4096, 4096}, {11008, 4096}, {4096, 11008}, {8192, 8192}, {28672, 8192}, {8192, 28672}};
const int kTokens[] = {1, 8, 16, 32, 128, 2048};

uint64_t gState = 0x9E3779B97F4A7C15ull;
uint32_t nextU32() {  // xorshift64*: fast host fill; quality is irrelevant for timing
  gState ^= gState >> 12; gState ^= gState << 25; gState ^= gState >> 27;
  return static_cast<uint32_t>((gState * 2685821657736338717ull) >> 32);
}

float median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.f : v[v.size() / 2];
}

struct Timing { float quant, gemm, total; int iters; };

Timing timeLayer(std::vector<std::unique_ptr<abq::Linear>>& copies, const __half* x, __half* y, int m, cudaStream_t s) {
  auto run = [&](int i, cudaEvent_t e0, cudaEvent_t e1, cudaEvent_t e2) {
    abq::Linear& l = *copies[i % copies.size()];
    if (e0) CUDA_CHECK(cudaEventRecord(e0, s));
    l.quantize(x, m, s);
    if (e1) CUDA_CHECK(cudaEventRecord(e1, s));
    l.multiply(x, m, y, s);
    if (e2) CUDA_CHECK(cudaEventRecord(e2, s));
  };
  // Warm up every copy: first use at a larger M grows its workspace (cudaMalloc, which synchronizes).
  for (size_t i = 0; i < copies.size(); i++) run(static_cast<int>(i), nullptr, nullptr, nullptr);
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a)); CUDA_CHECK(cudaEventCreate(&b));
  CUDA_CHECK(cudaEventRecord(a, s));
  run(0, nullptr, nullptr, nullptr);
  CUDA_CHECK(cudaEventRecord(b, s));
  CUDA_CHECK(cudaEventSynchronize(b));
  float once = 0;
  CUDA_CHECK(cudaEventElapsedTime(&once, a, b));
  CUDA_CHECK(cudaEventDestroy(a)); CUDA_CHECK(cudaEventDestroy(b));
  const int iters = std::clamp(static_cast<int>(kTargetMs / std::max(once, 1e-3f)), kMinIters, kMaxIters);
  std::vector<cudaEvent_t> ev(3 * iters);
  for (auto& e : ev) CUDA_CHECK(cudaEventCreate(&e));
  sleepKernel<<<1, 1, 0, s>>>(kSleepNs);
  CUDA_CHECK_LAUNCH("sleepKernel");
  for (int i = 0; i < iters; i++) run(i, ev[3 * i], ev[3 * i + 1], ev[3 * i + 2]);
  CUDA_CHECK(cudaStreamSynchronize(s));
  std::vector<float> q(iters), g(iters), t(iters);
  for (int i = 0; i < iters; i++) {
    CUDA_CHECK(cudaEventElapsedTime(&q[i], ev[3 * i], ev[3 * i + 1]));
    CUDA_CHECK(cudaEventElapsedTime(&g[i], ev[3 * i + 1], ev[3 * i + 2]));
    CUDA_CHECK(cudaEventElapsedTime(&t[i], ev[3 * i], ev[3 * i + 2]));
  }
  for (auto& e : ev) CUDA_CHECK(cudaEventDestroy(e));
  return {median(q) * 1000.f, median(g) * 1000.f, median(t) * 1000.f, iters};
}

// Device-to-device copy bandwidth (bytes read + written), the reference for "share of copy bandwidth".
double copyBandwidth(cudaStream_t s) {
  const size_t bytes = 1ull << 30;
  void *a, *b;
  CUDA_CHECK(cudaMalloc(&a, bytes)); CUDA_CHECK(cudaMalloc(&b, bytes));
  CUDA_CHECK(cudaMemsetAsync(a, 1, bytes, s));
  cudaEvent_t e0, e1;
  CUDA_CHECK(cudaEventCreate(&e0)); CUDA_CHECK(cudaEventCreate(&e1));
  std::vector<float> ms;
  for (int i = 0; i < 12; i++) {
    CUDA_CHECK(cudaEventRecord(e0, s));
    CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
    CUDA_CHECK(cudaEventRecord(e1, s));
    CUDA_CHECK(cudaEventSynchronize(e1));
    float t; CUDA_CHECK(cudaEventElapsedTime(&t, e0, e1));
    if (i >= 2) ms.push_back(t);
  }
  CUDA_CHECK(cudaFree(a)); CUDA_CHECK(cudaFree(b));
  return 2.0 * bytes / (median(ms) * 1e-3);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  const char* outPath = nullptr;
  const char* onlyConfig = nullptr;  // --config W4A8: one config (profiling)
  int onlyN = 0, onlyM = 0;          // --n 28672, --m 1: one shape row, one M
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) outPath = argv[++i];
    else if (!std::strcmp(argv[i], "--config") && i + 1 < argc) onlyConfig = argv[++i];
    else if (!std::strcmp(argv[i], "--n") && i + 1 < argc) onlyN = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--m") && i + 1 < argc) onlyM = std::atoi(argv[++i]);
  }
  FILE* out = outPath ? std::fopen(outPath, "w") : stdout;
  try {
    const abq::DeviceInfo dev = abq::queryDevice();
    cudaStream_t s;
    CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    const double copyBw = copyBandwidth(s);
    std::fprintf(out, "{\"device\":\"%s\",\"sm\":%d,\"copyBytesPerSec\":%.4g,\"runtime\":%d,\"driver\":%d}\n",
                 dev.name.c_str(), dev.smCount, copyBw, dev.runtimeVersion, dev.driverVersion);
    std::fflush(out);
    const int nShapes = quick ? 1 : 6;
    for (int si = 0; si < nShapes; si++) {
      const int n = kShapes[si][0], k = kShapes[si][1];
      if (onlyN && n != onlyN) continue;
      // Activations: random fp16 in [-4, 4) for the largest M, reused by every M (a prefix).
      const int maxM = 2048;
      std::vector<__half> hx(static_cast<size_t>(maxM) * k);
      for (auto& v : hx) v = __float2half((static_cast<float>(nextU32() >> 8) / 16777216.f - 0.5f) * 8.f);
      __half *dx, *dy;
      CUDA_CHECK(cudaMalloc(&dx, hx.size() * 2));
      CUDA_CHECK(cudaMalloc(&dy, static_cast<size_t>(maxM) * n * 2));
      CUDA_CHECK(cudaMemcpy(dx, hx.data(), hx.size() * 2, cudaMemcpyHostToDevice));
      for (const Config& c : kConfigs) {
        if (onlyConfig && std::strcmp(onlyConfig, c.name)) continue;
        abq::LinearSpec spec{n, k, c.p, c.group, c.q, 0};
        const int groupSize = c.group > 0 ? c.group : k;
        const int groups = (k + groupSize - 1) / groupSize;
        std::vector<uint32_t> planes(static_cast<size_t>(c.p) * n * ((k + 31) / 32));
        for (auto& w : planes) w = nextU32();
        if (k % 32) {  // keep the format's zero padding
          const uint32_t mask = (1u << (k % 32)) - 1;
          const size_t wpr = (k + 31) / 32;
          for (size_t r = 0; r < planes.size() / wpr; r++) planes[r * wpr + wpr - 1] &= mask;
        }
        std::vector<float> scales(static_cast<size_t>(n) * groups);
        std::vector<uint8_t> zeros(scales.size());
        for (size_t i = 0; i < scales.size(); i++) {
          scales[i] = 1e-3f * (1 + nextU32() % 64);
          zeros[i] = static_cast<uint8_t>(nextU32() % (1u << c.p));
        }
        const double wbytes = static_cast<double>(c.p) * n * k / 8;
        const int nCopies = std::clamp(static_cast<int>(kRotateBytes / wbytes) + 1, 2, kMaxCopies);
        std::vector<std::unique_ptr<abq::Linear>> copies;
        for (int i = 0; i < nCopies; i++)
          copies.push_back(std::make_unique<abq::Linear>(spec, planes.data(), scales.data(), zeros.data(), nullptr, s));
        for (int m : kTokens) {
          if (quick && m > 32 && m != 2048) continue;
          if (onlyM && m != onlyM) continue;
          const Timing t = timeLayer(copies, dx, dy, m, s);
          std::fprintf(out,
                       "{\"n\":%d,\"k\":%d,\"m\":%d,\"config\":\"%s\",\"p\":%d,\"q\":%d,\"group\":%d,\"plan\":\"%s\","
                       "\"quantUs\":%.3f,\"gemmUs\":%.3f,\"totalUs\":%.3f,\"iters\":%d,\"weightBytes\":%.0f,\"copies\":%d}\n",
                       n, k, m, c.name, c.p, c.q, c.group, copies[0]->planName(m).c_str(), t.quant, t.gemm, t.total,
                       t.iters, wbytes, nCopies);
          std::fflush(out);
        }
      }
      CUDA_CHECK(cudaFree(dx));
      CUDA_CHECK(cudaFree(dy));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "abq-gpu-bench: %s\n", e.what());
    return 1;
  }
  if (outPath) std::fclose(out);
  return 0;
}

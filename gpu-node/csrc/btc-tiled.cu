// Host side of the tiled BTC kernel (btc-tiled-kernel.cuh): the weight-row repack and the launch.
#include "btc-gemm.cuh"
#include "btc-layout.cuh"
#include "btc-tiled-kernel.cuh"
#include "cuda-check.cuh"

#include <cstdlib>
#include <cstring>

namespace abq {
namespace {

constexpr int kRepackThreads = 256;

int log2Pow2(int v) {
  int l = 0;
  while ((1 << l) < v) l++;
  return l;
}

// Weight plane rows from the fragment tile layout (btc-layout.cuh), so the canonical planes need not be
// kept: rows [rowsPad][wordsPad], row v = n * Rp + j holds plane j of output n; j >= p, n >= N are zero.
__global__ void weightRowsKernel(const uint4* __restrict__ tile, int p, int n, int kPairs, int logRp, size_t rowsPad,
                                 uint32_t* __restrict__ rows) {
  const int wordsPad = kPairs * kPairWords;
  const size_t total = rowsPad * wordsPad;
  for (size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int w = idx % wordsPad;
    const size_t v = idx / wordsPad;
    const int out = static_cast<int>(v >> logRp), j = static_cast<int>(v & ((1u << logRp) - 1));
    uint32_t word = 0;
    if (out < n && j < p) {
      const int nTile = out / kTileN, g = out % kTileN, pair = w / kPairWords, comp = (w % kPairWords) / 4, t = w % 4;
      const uint4 u = tile[((static_cast<size_t>(nTile) * kPairs + pair) * p + j) * kLanes + 4 * g + t];
      word = comp == 0 ? u.x : comp == 1 ? u.y : comp == 2 ? u.z : u.w;
    }
    rows[idx] = word;
  }
}

}  // namespace

size_t btcWeightRowsWords(int p, int n, int k) {
  const size_t rowsPad = static_cast<size_t>(ceilDiv(n << log2Pow2(rowsPerToken(p)), kCtaColsMax)) * kCtaColsMax;
  return rowsPad * ceilDiv(ceilDiv(k, 32), kPairWords) * kPairWords;
}

void btcWeightRows(const uint32_t* tile, int p, int n, int k, uint32_t* rows, cudaStream_t stream) {
  const int logRp = log2Pow2(rowsPerToken(p));
  const int kPairs = ceilDiv(ceilDiv(k, 32), kPairWords);
  const size_t rowsPad = static_cast<size_t>(ceilDiv(n << logRp, kCtaColsMax)) * kCtaColsMax;
  const size_t total = rowsPad * kPairs * kPairWords;
  const int blocks = static_cast<int>(std::min<size_t>((total + kRepackThreads - 1) / kRepackThreads, 1u << 20));
  weightRowsKernel<<<blocks, kRepackThreads, 0, stream>>>(reinterpret_cast<const uint4*>(tile), p, n, kPairs, logRp,
                                                          rowsPad, rows);
  CUDA_CHECK_LAUNCH("btcWeightRows");
}

namespace {

// CTA shape (TiledCta, warps along N): 128 x 128 (2, 2 CTAs per SM), except for R = Rp = 1, whose fp32
// output tile leaves room for one 128 x 128 CTA per SM only, so there the 8-warp 128 x 256 shape (4)
// keeps 8 warps per SM. ABQ_BTC_TILED_CTA=128x256 takes the 8-warp shape everywhere (benchmark
// comparisons; NOTES.md v6).
int tiledWarpsN(int logR, int logRp) {
  static const bool wide = [] {
    const char* v = std::getenv("ABQ_BTC_TILED_CTA");
    return v != nullptr && std::strcmp(v, "128x256") == 0;
  }();
  return wide || logR + logRp == 0 ? 4 : 2;
}

int tiledCols(int warpsN) { return warpsN == 4 ? TiledCta<4>::kCols : TiledCta<2>::kCols; }

}  // namespace

std::string btcTiledName(int p, int q) {
  const int logR = log2Pow2(rowsPerToken(q)), logRp = log2Pow2(rowsPerToken(p));
  return "btc-tiled-r" + std::to_string(rowsPerToken(q)) + "c" + std::to_string(rowsPerToken(p)) + "-" +
         std::to_string(kCtaRows) + "x" + std::to_string(tiledCols(tiledWarpsN(logR, logRp))) + "s" +
         std::to_string(TiledCta<2>::stages(logR, logRp));
}

namespace {

// One launch per (R, Rp, CTA shape): sets the variant's shared-memory limit the first time it runs.
template <int kLogR, int kLogRp, int kWarpsN>
void launchTiled(const BtcTiledArgs& args, int m, int n, cudaStream_t stream) {
  using Cta = TiledCta<kWarpsN>;
  constexpr int kSmem = Cta::smemBytes(kLogR, kLogRp);
  static bool attributeSet = false;  // callers serialize GPU work (addon mutex, single-threaded bench)
  if (!attributeSet) {
    CUDA_CHECK(cudaFuncSetAttribute(btcTiledKernel<kLogR, kLogRp, kWarpsN>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    attributeSet = true;
  }
  const dim3 grid(ceilDiv(m, kCtaRows >> kLogR), ceilDiv(n, Cta::kCols >> kLogRp));
  btcTiledKernel<kLogR, kLogRp, kWarpsN><<<grid, Cta::kThreads, kSmem, stream>>>(args);
  CUDA_CHECK_LAUNCH("btcTiledKernel");
}

template <int kLogR, int kWarpsN>
void launchTiledRp(int logRp, const BtcTiledArgs& args, int m, int n, cudaStream_t stream) {
  switch (logRp) {
    case 0: return launchTiled<kLogR, 0, kWarpsN>(args, m, n, stream);
    case 1: return launchTiled<kLogR, 1, kWarpsN>(args, m, n, stream);
    case 2: return launchTiled<kLogR, 2, kWarpsN>(args, m, n, stream);
    case 3: return launchTiled<kLogR, 3, kWarpsN>(args, m, n, stream);
    default: throw AbqError("btcTiledKernel: no variant for " + std::to_string(1 << logRp) + " weight plane rows");
  }
}

template <int kWarpsN>
void launchTiledR(int logR, int logRp, const BtcTiledArgs& args, int m, int n, cudaStream_t stream) {
  switch (logR) {
    case 0: return launchTiledRp<0, kWarpsN>(logRp, args, m, n, stream);
    case 1: return launchTiledRp<1, kWarpsN>(logRp, args, m, n, stream);
    case 2: return launchTiledRp<2, kWarpsN>(logRp, args, m, n, stream);
    case 3: return launchTiledRp<3, kWarpsN>(logRp, args, m, n, stream);
    default: throw AbqError("btcTiledKernel: no variant for " + std::to_string(1 << logR) + " activation plane rows");
  }
}

}  // namespace

void btcTiledAccumulate(const BtcProblem& pr, cudaStream_t stream, bool external) {
  if (!pr.wrows) throw AbqError("btcTiledAccumulate: weight rows missing (Linear builds them before the first large-M call)");
  BtcTiledArgs args{};
  args.xplanes = pr.xplanes;
  args.wrows = pr.wrows;
  args.m = pr.m; args.n = pr.n; args.q = pr.q;
  args.wordsPad = pr.wordsPad;
  args.kSteps = pr.wordsPad / kStageWords;
  const int logR = log2Pow2(rowsPerToken(pr.q)), logRp = log2Pow2(rowsPerToken(pr.p));
  args.groups = ceilDiv(pr.k, pr.groupSize);
  args.groupChunks = pr.groupSize >= pr.k ? 1 << 30 : pr.groupSize / 256;
  args.actGroups = ceilDiv(pr.k, pr.epi.actGroup);
  args.epi = pr.epi;
  args.accOut = external ? pr.acc : nullptr;
  if (tiledWarpsN(logR, logRp) == 4) launchTiledR<4>(logR, logRp, args, pr.m, pr.n, stream);
  else launchTiledR<2>(logR, logRp, args, pr.m, pr.n, stream);
}

}  // namespace abq

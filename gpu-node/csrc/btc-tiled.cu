// Host side of the tiled BTC kernel (btc-tiled-kernel.cuh): the weight-row repack and the launch.
#include "btc-gemm.cuh"
#include "btc-layout.cuh"
#include "btc-tiled-kernel.cuh"
#include "cuda-check.cuh"

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
  const size_t rowsPad = static_cast<size_t>(ceilDiv(n << log2Pow2(rowsPerToken(p)), kCtaCols)) * kCtaCols;
  return rowsPad * ceilDiv(ceilDiv(k, 32), kPairWords) * kPairWords;
}

void btcWeightRows(const uint32_t* tile, int p, int n, int k, uint32_t* rows, cudaStream_t stream) {
  const int logRp = log2Pow2(rowsPerToken(p));
  const int kPairs = ceilDiv(ceilDiv(k, 32), kPairWords);
  const size_t rowsPad = static_cast<size_t>(ceilDiv(n << logRp, kCtaCols)) * kCtaCols;
  const size_t total = rowsPad * kPairs * kPairWords;
  const int blocks = static_cast<int>(std::min<size_t>((total + kRepackThreads - 1) / kRepackThreads, 1u << 20));
  weightRowsKernel<<<blocks, kRepackThreads, 0, stream>>>(reinterpret_cast<const uint4*>(tile), p, n, kPairs, logRp,
                                                          rowsPad, rows);
  CUDA_CHECK_LAUNCH("btcWeightRows");
}

std::string btcTiledName(int p, int q) {
  const int logR = log2Pow2(rowsPerToken(q)), logRp = log2Pow2(rowsPerToken(p));
  return "btc-tiled-r" + std::to_string(rowsPerToken(q)) + "c" + std::to_string(rowsPerToken(p)) + "-" +
         std::to_string(kCtaRows) + "x" + std::to_string(kCtaCols) + "s" + std::to_string(btcTiledStages(logR, logRp));
}

namespace {

// One launch per (R, Rp): sets the variant's shared-memory limit the first time it runs.
template <int kLogR, int kLogRp>
void launchTiled(const BtcTiledArgs& args, dim3 grid, cudaStream_t stream) {
  constexpr int kSmem = btcTiledSmemBytes(kLogR, kLogRp);
  static bool attributeSet = false;  // callers serialize GPU work (addon mutex, single-threaded bench)
  if (!attributeSet) {
    CUDA_CHECK(cudaFuncSetAttribute(btcTiledKernel<kLogR, kLogRp>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    attributeSet = true;
  }
  btcTiledKernel<kLogR, kLogRp><<<grid, kTiledThreads, kSmem, stream>>>(args);
  CUDA_CHECK_LAUNCH("btcTiledKernel");
}

template <int kLogR>
void launchTiledRp(int logRp, const BtcTiledArgs& args, dim3 grid, cudaStream_t stream) {
  switch (logRp) {
    case 0: return launchTiled<kLogR, 0>(args, grid, stream);
    case 1: return launchTiled<kLogR, 1>(args, grid, stream);
    case 2: return launchTiled<kLogR, 2>(args, grid, stream);
    case 3: return launchTiled<kLogR, 3>(args, grid, stream);
    default: throw AbqError("btcTiledKernel: no variant for " + std::to_string(1 << logRp) + " weight plane rows");
  }
}

}  // namespace

void btcTiledAccumulate(const BtcProblem& pr, cudaStream_t stream) {
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
  const dim3 grid(ceilDiv(pr.m, kCtaRows >> logR), ceilDiv(pr.n, kCtaCols >> logRp));
  switch (logR) {
    case 0: return launchTiledRp<0>(logRp, args, grid, stream);
    case 1: return launchTiledRp<1>(logRp, args, grid, stream);
    case 2: return launchTiledRp<2>(logRp, args, grid, stream);
    case 3: return launchTiledRp<3>(logRp, args, grid, stream);
    default: throw AbqError("btcTiledKernel: no variant for " + std::to_string(1 << logR) + " activation plane rows");
  }
}

}  // namespace abq

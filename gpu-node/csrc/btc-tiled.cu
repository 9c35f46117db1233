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
  return "btc-tiled-r" + std::to_string(rowsPerToken(q)) + "c" + std::to_string(rowsPerToken(p)) + "-" +
         std::to_string(kCtaRows) + "x" + std::to_string(kCtaCols) + "s" + std::to_string(kTiledStages);
}

void btcTiledAccumulate(const BtcProblem& pr, cudaStream_t stream) {
  if (!pr.wrows) throw AbqError("btcTiledAccumulate: weight rows missing (Linear builds them before the first large-M call)");
  BtcTiledArgs args{};
  args.xplanes = pr.xplanes;
  args.wrows = pr.wrows;
  args.m = pr.m; args.n = pr.n; args.q = pr.q;
  args.wordsPad = pr.wordsPad;
  args.kSteps = pr.wordsPad / kStageWords;
  args.logR = log2Pow2(rowsPerToken(pr.q));
  args.logRp = log2Pow2(rowsPerToken(pr.p));
  args.groups = ceilDiv(pr.k, pr.groupSize);
  args.groupChunks = pr.groupSize >= pr.k ? 1 << 30 : pr.groupSize / 256;
  args.actGroups = ceilDiv(pr.k, pr.epi.actGroup);
  args.epi = pr.epi;
  const int smem = btcTiledSmemBytes(args.logR, args.logRp);
  static bool attributeSet = false;  // the largest launch (R = Rp = 1) sets the limit once per process
  if (!attributeSet) {
    CUDA_CHECK(cudaFuncSetAttribute(btcTiledKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, btcTiledSmemBytes(0, 0)));
    attributeSet = true;
  }
  const dim3 grid(ceilDiv(pr.m, kCtaRows >> args.logR), ceilDiv(pr.n, kCtaCols >> args.logRp));
  btcTiledKernel<<<grid, kTiledThreads, smem, stream>>>(args);
  CUDA_CHECK_LAUNCH("btcTiledKernel");
}

}  // namespace abq

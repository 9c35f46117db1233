// BTC path host side: repack, code sums, the per-(shape, bits) plan, generic fallback, epilogue.
#include "btc-gemm.cuh"
#include "btc-decode-prep-kernel.cuh"
#include "btc-decode-wide-kernel.cuh"
#include "btc-kernel.cuh"
#include "cuda-check.cuh"

#include <algorithm>
#include <type_traits>
#include <cstdlib>
#include <cstring>

namespace abq {

template <int P> void launchBtc(int r, int mt, dim3 grid, cudaStream_t stream, const BtcArgs& args);
template <int P> void launchBtcDecode(int r, bool ctaLocal, dim3 grid, size_t smem, cudaStream_t stream, const BtcArgs& args);
template <int P> void launchBtcDecodeWide(int r, int f, dim3 grid, size_t smem, cudaStream_t stream, const BtcArgs& args);
template <int P> void launchBtcDecodePrep(int r, dim3 grid, size_t smem, cudaStream_t stream, const BtcArgs& args,
                                          const DecodePrepArgs& prep);

namespace {

constexpr int kThreads = 256;
// Fill target for the split-K choice: CTAs per SM the kernel keeps resident at ~64 registers.
constexpr int kTargetCtasPerSm = 8;
// Fewest K pairs (512 bits) one CTA handles, so a split still streams several loads per warp.
constexpr int kMinPairsPerSplit = 4;
// The same for the decode kernel, whose warps cover 16 outputs (twice the bytes per pair): 2 measured
// best on the 7B decode (W2A8 b1 410 -> 420 tok/s, W4A4 333 -> 343; 1 and 4 slower; NOTES.md engine E3).
constexpr int kDecodeMinPairsPerSplit = 2;
// acc_g <= 255 * 255 * K must fit in u32.
constexpr int kMaxK = 66051;
// Fuse the epilogue into the BTC kernel up to this many tokens (the last CTA of an n-range does
// M x 64 outputs; beyond, a separate kernel spreads them over the GPU).
constexpr int kMaxFusedTokens = 32;

__global__ void repackKernel(const uint32_t* __restrict__ canon, int p, int n, int words, int nTiles, int kPairs,
                             uint4* __restrict__ tile) {
  const size_t total = static_cast<size_t>(nTiles) * kPairs * p * kLanes;
  for (size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const int lane = idx % kLanes;
    const int j = (idx / kLanes) % p;
    const int pair = (idx / (kLanes * p)) % kPairs;
    const int nTile = idx / (static_cast<size_t>(kLanes) * p * kPairs);
    const int row = nTile * kTileN + lane / 4, t = lane % 4;
    auto word = [&](int w) -> uint32_t {
      return (row < n && w < words) ? canon[(static_cast<size_t>(j) * n + row) * words + w] : 0u;
    };
    const int w0 = pair * kPairWords + t;
    tile[idx] = make_uint4(word(w0), word(w0 + 4), word(w0 + 8), word(w0 + 12));
  }
}

__global__ void weightSumsKernel(const uint32_t* __restrict__ canon, int p, int n, int words, int wordsPerGroup,
                                 int groups, uint32_t* __restrict__ sums) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= n * groups) return;
  const int row = idx / groups, g = idx % groups;
  const int w0 = g * wordsPerGroup, w1 = min(words, w0 + wordsPerGroup);
  uint32_t s = 0;
  for (int j = 0; j < p; j++)
    for (int w = w0; w < w1; w++) s += static_cast<uint32_t>(__popc(canon[(static_cast<size_t>(j) * n + row) * words + w])) << j;
  sums[idx] = s;
}

// The literal popcount formula, one thread per (m, n, g): for group sizes the tile kernel does not
// take (multiples of 32 below 256 or not multiples of 256). Correct, slow; the plan names it.
__global__ void genericAccKernel(const uint32_t* __restrict__ w, const uint32_t* __restrict__ x, int m, int n,
                                 int words, int wordsPad, int p, int q, int wordsPerGroup, int groups,
                                 uint32_t* __restrict__ acc) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(m) * n * groups) return;
  const int g = idx % groups;
  const int col = (idx / groups) % n;
  const int row = idx / (static_cast<size_t>(groups) * n);
  const int w0 = g * wordsPerGroup, w1 = min(words, w0 + wordsPerGroup);
  uint32_t total = 0;
  for (int i = 0; i < q; i++)
    for (int j = 0; j < p; j++) {
      uint32_t pc = 0;
      for (int ww = w0; ww < w1; ww++)
        pc += __popc(x[(static_cast<size_t>(i) * m + row) * wordsPad + ww] & w[(static_cast<size_t>(j) * n + col) * words + ww]);
      total += pc << (i + j);
    }
  acc[idx] = total;
}

__global__ void epilogueKernel(const EpilogueArgs e, int groups, int actGroups) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(e.m) * e.n) return;
  epilogueOutput(e, static_cast<int>(idx / e.n), static_cast<int>(idx % e.n), groups, actGroups);
}

// Which large-M kernel: ABQ_BTC_TILED unset -> the measured table (tiledByDefault), "1" -> the tiled
// kernel for every (p, q) at M >= kTiledMinTokens (the device check runs this way, so every width of it
// is verified), "0" -> never (the split-K kernels; for benchmark comparisons).
enum class TiledMode { kTable, kAlways, kNever };
TiledMode tiledMode() {
  static const TiledMode mode = [] {
    const char* v = std::getenv("ABQ_BTC_TILED");
    if (v != nullptr && std::strcmp(v, "1") == 0) return TiledMode::kAlways;
    if (v != nullptr && std::strcmp(v, "0") == 0) return TiledMode::kNever;
    return TiledMode::kTable;
  }();
  return mode;
}

// Where the tiled kernel measured faster than the split-K kernels. After v6b/v6c (leaner flush, 128 x 128
// CTAs, 2 per SM) it wins for every (p, q) at M >= 64 (H100, 8192 x 8192 and 8192 x 28672, M = 128 and
// 2048; NOTES.md "v6 dispatch"): e.g. M = 128 W8A8 219 vs 451 us, W3A3 60 vs 170 us; M = 2048 W4A4
// 877 vs 2946 us. Kept as a function so a future measurement can carve out exceptions in one place.
bool tiledByDefault(int /*p*/, int /*q*/) { return true; }

// Split-K tuning knobs for experiments (ABQ_BTC_MIN_PAIRS, ABQ_BTC_TARGET_CTAS); the defaults are the constants above.
int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}
// Where the CTA-local decode kernel is taken by default: nowhere until a device run has checked it (it compiles
// and its shared-memory reduction mirrors the verified split-K kernel's flush, but no GPU was lent to the session
// that wrote it; NOTES.md "Decode GEMV with the K split inside the CTA"). ABQ_BTC_DECODE_CTA=1 turns it on.
bool decodeCtaByDefault(int /*n*/, int /*kPairs*/, int /*smCount*/) { return false; }

int tiledMinFromEnv() { static const int v = std::max(1, envInt("ABQ_BTC_TILED_MIN_M", kTiledMinTokens)); return v; }
// ABQ_BTC_DECODE=0: the split-K kernel also for M x R <= 8 (A/B measurements).
bool decodeKernelEnabled() {
  static const bool on = [] { const char* v = std::getenv("ABQ_BTC_DECODE"); return !(v && v[0] == '0'); }();
  return on;
}
// ABQ_BTC_DECODE_CTA: "0" = the split-K decode kernel only, "1" = the CTA-local one wherever its shared
// accumulators fit, unset = decodeCtaByDefault.
int decodeCtaMode() { static const int v = envInt("ABQ_BTC_DECODE_CTA", -1); return v; }
// ABQ_BTC_DECODE_WIDE: "1" = the wide decode kernel for 8 < M x R <= 128 (M <= 16, p <= 4) wherever its shared
// accumulators fit; unset or "0" = the split-K or tiled kernel there. Opt-in until a device run has checked it.
bool decodeWideEnabled() { static const bool v = envInt("ABQ_BTC_DECODE_WIDE", 0) == 1; return v; }
int minPairsPerSplit() { static const int v = std::max(1, envInt("ABQ_BTC_MIN_PAIRS", kMinPairsPerSplit)); return v; }
int decodeMinPairsPerSplit() { static const int v = std::max(1, envInt("ABQ_BTC_MIN_PAIRS", kDecodeMinPairsPerSplit)); return v; }
int targetCtasPerSm() { static const int v = std::max(1, envInt("ABQ_BTC_TARGET_CTAS", kTargetCtasPerSm)); return v; }

/**
 * Calls f(std::integral_constant<int, P>) for weight bits p in 1..8: the kernels are templates on P, each
 * width compiled in its own btc-inst-p<P>.cu.
 */
template <typename F>
void withWeightBits(int p, const char* what, F&& f) {
  switch (p) {
    case 1: f(std::integral_constant<int, 1>{}); return;
    case 2: f(std::integral_constant<int, 2>{}); return;
    case 3: f(std::integral_constant<int, 3>{}); return;
    case 4: f(std::integral_constant<int, 4>{}); return;
    case 5: f(std::integral_constant<int, 5>{}); return;
    case 6: f(std::integral_constant<int, 6>{}); return;
    case 7: f(std::integral_constant<int, 7>{}); return;
    case 8: f(std::integral_constant<int, 8>{}); return;
    default: throw AbqError(std::string(what) + ": weight bits " + std::to_string(p) + " not in 1..8");
  }
}

/** The fields every mma kernel reads, from the problem and the plan. */
BtcArgs kernelArgs(const BtcProblem& pr, const BtcPlan& plan) {
  BtcArgs args{};
  args.wtile = reinterpret_cast<const uint4*>(pr.wtile);
  args.xplanes = pr.xplanes;
  args.acc = pr.acc;
  args.m = pr.m; args.n = pr.n; args.q = pr.q;
  args.nTiles = ceilDiv(pr.n, kTileN);
  args.kPairs = ceilDiv(ceilDiv(pr.k, 32), kPairWords);
  args.wordsPad = pr.wordsPad;
  args.groups = ceilDiv(pr.k, pr.groupSize);
  args.groupChunks = pr.groupSize >= pr.k ? 1 << 30 : pr.groupSize / 256;
  args.pairsPerSplit = ceilDiv(args.kPairs, plan.splits);
  args.counters = pr.counters;
  args.epi = pr.epi;
  args.fuseEpilogue = plan.fusedEpilogue && !plan.skipEpilogue ? 1 : 0;
  return args;
}

int gridFor(size_t total) { return static_cast<int>(std::min<size_t>((total + kThreads - 1) / kThreads, 1u << 20)); }

}  // namespace

int rowsPerToken(int q) { return q <= 1 ? 1 : q <= 2 ? 2 : q <= 4 ? 4 : 8; }

int tiledMinTokens() { return tiledMinFromEnv(); }

size_t btcTileWords(int p, int n, int k) {
  return static_cast<size_t>(ceilDiv(n, kTileN)) * ceilDiv(ceilDiv(k, 32), kPairWords) * p * kLanes * 4;
}

void btcRepack(const uint32_t* canon, int p, int n, int k, uint32_t* tile, cudaStream_t stream) {
  const int words = ceilDiv(k, 32);
  const int nTiles = ceilDiv(n, kTileN), kPairs = ceilDiv(words, kPairWords);
  const size_t total = static_cast<size_t>(nTiles) * kPairs * p * kLanes;
  repackKernel<<<gridFor(total), kThreads, 0, stream>>>(canon, p, n, words, nTiles, kPairs, reinterpret_cast<uint4*>(tile));
  CUDA_CHECK_LAUNCH("btcRepack");
}

void weightCodeSums(const uint32_t* canon, int p, int n, int k, int groupSize, uint32_t* sums, cudaStream_t stream) {
  const int words = ceilDiv(k, 32), groups = ceilDiv(k, groupSize);
  const int wordsPerGroup = groupSize >= k ? words : groupSize / 32;
  weightSumsKernel<<<gridFor(static_cast<size_t>(n) * groups), kThreads, 0, stream>>>(canon, p, n, words, wordsPerGroup,
                                                                                      groups, sums);
  CUDA_CHECK_LAUNCH("weightCodeSums");
}

bool btcTiledSupportsGroup(int k, int groupSize) { return groupSize >= k || groupSize % 256 == 0; }

BtcPlan btcPlan(const BtcProblem& pr, int smCount) {
  if (pr.k > kMaxK) {
    throw AbqError("btc: K=" + std::to_string(pr.k) + " exceeds " + std::to_string(kMaxK) +
                   " (u32 accumulators could overflow at 8x8 bits): split the layer along K");
  }
  if (static_cast<double>(pr.q) * pr.m * pr.wordsPad >= 2147483647.0) {
    throw AbqError("btc: activation planes of M=" + std::to_string(pr.m) + " K=" + std::to_string(pr.k) +
                   " exceed 2^31 words: split the batch");
  }
  BtcPlan plan{};
  plan.rowsPerToken = rowsPerToken(pr.q);
  if (!pr.wtile) {
    plan.generic = true;
    plan.splits = 1;
    plan.name = "generic-popc";
    return plan;
  }
  // Fewest m-tiles that hold all tokens (one pass over the weights), at most 4 (register budget).
  const int tokensPerTile = kTileM / plan.rowsPerToken;
  plan.mTiles = 4;
  for (int mt : {1, 2, 4}) {
    if (mt * tokensPerTile >= pr.m) { plan.mTiles = mt; break; }
  }
  const int tokenBlocks = ceilDiv(pr.m, plan.mTiles * tokensPerTile);
  const int nBlocks = ceilDiv(ceilDiv(pr.n, kTileN), kBtcWarps);
  const int kPairs = ceilDiv(ceilDiv(pr.k, 32), kPairWords);
  const int want = ceilDiv(targetCtasPerSm() * smCount, tokenBlocks * nBlocks);
  plan.splits = std::max(1, std::min(want, kPairs / minPairsPerSplit()));
  plan.fusedEpilogue = pr.m <= kMaxFusedTokens;
  if (pr.m * plan.rowsPerToken <= kTileN && decodeKernelEnabled()) {
    // One B fragment of activation columns holds every token: the decode kernel, 16 outputs per warp.
    const int dBlocks = ceilDiv(ceilDiv(ceilDiv(pr.n, kTileN), 2), kBtcWarps);
    const int dWant = ceilDiv(targetCtasPerSm() * smCount, dBlocks);
    plan.decode = true;
    plan.mTiles = 1;
    const int groups = ceilDiv(pr.k, pr.groupSize);
    const bool ctaFits = decodeCtaSmemWords(pr.m, groups) <= kDecodeCtaMaxSmemWords;
    const int ctaMode = decodeCtaMode();
    if (ctaFits && ctaMode != 0 && (ctaMode == 1 || decodeCtaByDefault(pr.n, kPairs, smCount))) {
      plan.decodeCta = true;
      plan.splits = ceilDiv(kPairs, kBtcWarps);  // K pairs per warp
      plan.name = "btc-decc-r" + std::to_string(plan.rowsPerToken) + "-w" + std::to_string(plan.splits) +
                  (plan.fusedEpilogue ? "-fused" : "");
      return plan;
    }
    plan.splits = std::max(1, std::min(dWant, kPairs / decodeMinPairsPerSplit()));
    plan.name = "btc-dec-r" + std::to_string(plan.rowsPerToken) + "-s" + std::to_string(plan.splits) +
                (plan.fusedEpilogue ? "-fused" : "");
    return plan;
  }
  const int cols = pr.m * plan.rowsPerToken, groups = ceilDiv(pr.k, pr.groupSize);
  if (cols > kTileN && cols <= kDecodeWideMaxCols && pr.m <= kDecodeWideMaxTokens && pr.p <= kDecodeWideMaxP &&
      decodeWideEnabled() && decodeCtaSmemWords(pr.m, groups) <= kDecodeCtaMaxSmemWords) {
    // A few tokens past one fragment: the wide decode kernel reads the weights once for all of them.
    plan.decode = plan.decodeCta = true;
    plan.mTiles = 1;
    plan.wideFragments = decodeWideFragments(cols);
    plan.fusedEpilogue = true;  // CTA-local: the epilogue reads shared memory, whatever M
    plan.splits = ceilDiv(kPairs, kBtcWarps);  // K pairs per warp
    plan.name = "btc-decw-r" + std::to_string(plan.rowsPerToken) + "-f" + std::to_string(plan.wideFragments) + "-w" +
                std::to_string(plan.splits) + "-fused";
    return plan;
  }
  plan.name = "btc-mma-r" + std::to_string(plan.rowsPerToken) + "-mt" + std::to_string(plan.mTiles) + "-s" +
              std::to_string(plan.splits) + (plan.fusedEpilogue ? "-fused" : "");
  // Large M: the shared-memory tiled kernel (the split-K fields above stay valid for debug runs).
  const TiledMode mode = tiledMode();
  const bool manyRows = pr.m >= tiledMinTokens() || pr.m * plan.rowsPerToken >= kTiledMinPlaneRows;
  if (manyRows && (mode == TiledMode::kAlways || (mode == TiledMode::kTable && tiledByDefault(pr.p, pr.q)))) {
    plan.tiled = true;
    plan.name = btcTiledName(pr.p, pr.q);
  }
  return plan;
}

bool btcAccumulateDecodePrep(const BtcProblem& pr, const BtcPlan& plan, const DecodePrepArgs& prep, const EpiF32Args& finish,
                             int smCount, cudaStream_t stream) {
  const int groups = ceilDiv(pr.k, pr.groupSize);
  const size_t smem = decodePrepSmemWords(groups, pr.k, pr.q, pr.wordsPad) * sizeof(uint32_t);
  const bool wordGroups = pr.groupSize >= pr.k || pr.groupSize % 32 == 0;  // code sums per whole words
  if (!plan.decode || !plan.decodeCta || plan.wideFragments > 0 || pr.m != 1 || pr.k > kDecodePrepMaxK || !wordGroups ||
      finish.actGroup < pr.k || smem > kDecodePrepMaxSmemBytes)
    return false;
  if (ceilDiv(finish.k, finish.groupSize) != groups || finish.n != pr.n || finish.m != 1)
    throw AbqError("btcAccumulateDecodePrep: the f32 epilogue's shape differs from the problem's");
  if (prep.bits != pr.q) throw AbqError("btcAccumulateDecodePrep: the row is quantized to " + std::to_string(prep.bits) +
                                        " bits, the layer takes " + std::to_string(pr.q));
  BtcArgs args = kernelArgs(pr, plan);
  args.pairsPerSplit = plan.splits;  // K pairs per warp
  args.finishF32 = 1;
  args.epi32 = finish;
  DecodePrepArgs pa = prep;
  pa.sumGroup = std::min(pr.groupSize, pr.k);  // the epilogue reads the code sums per weight group
  // Resident CTAs take the tiles in turn, so each quantizes the row once (launch bounds: 3 CTAs per SM for
  // p <= 4, 2 above; fewer where the shared row does not fit in the SM's 227 KB).
  const int wTiles = ceilDiv(args.nTiles, 2);
  const int perSm = std::max(1, std::min(pr.p <= 4 ? 3 : 2, static_cast<int>((227 * 1024) / (smem + 1024))));
  const dim3 grid(std::min(wTiles, perSm * smCount));
  withWeightBits(pr.p, "btcAccumulateDecodePrep", [&](auto bits) {
    launchBtcDecodePrep<decltype(bits)::value>(plan.rowsPerToken, grid, smem, stream, args, pa);
  });
  return true;
}

size_t btcCounterCount(int n) { return ceilDiv(ceilDiv(n, kTileN), kBtcWarps); }

void btcAccumulate(const BtcProblem& pr, const BtcPlan& plan, cudaStream_t stream) {
  const int groups = ceilDiv(pr.k, pr.groupSize);
  const int words = ceilDiv(pr.k, 32);
  const size_t accBytes = static_cast<size_t>(pr.m) * pr.n * groups * sizeof(uint32_t);
  if (plan.generic) {
    const int wordsPerGroup = pr.groupSize >= pr.k ? words : pr.groupSize / 32;
    genericAccKernel<<<gridFor(static_cast<size_t>(pr.m) * pr.n * groups), kThreads, 0, stream>>>(
        pr.wcanon, pr.xplanes, pr.m, pr.n, words, pr.wordsPad, pr.p, pr.q, wordsPerGroup, groups, pr.acc);
    CUDA_CHECK_LAUNCH("genericAccKernel");
    if (!plan.skipEpilogue) btcEpilogue(pr.epi, stream);
    return;
  }
  if (plan.tiled) {  // with skipEpilogue: every acc entry is stored (acc's zero state is kept)
    btcTiledAccumulate(pr, stream, plan.skipEpilogue);
    return;
  }
  (void)accBytes;  // acc is zero here: zeroed at allocation and by every epilogue (btcEpilogue)
  BtcArgs args = kernelArgs(pr, plan);
  if (plan.decode) {
    const int wTiles = ceilDiv(args.nTiles, 2);
    dim3 dgrid(1, ceilDiv(wTiles, kBtcWarps), ceilDiv(args.kPairs, args.pairsPerSplit));
    size_t smem = 0;
    if (plan.decodeCta) {  // one CTA per 16-output tile; pairsPerSplit = K pairs per warp
      args.pairsPerSplit = plan.splits;
      if (plan.skipEpilogue && pr.finishF32) {
        if (ceilDiv(pr.finishF32->k, pr.finishF32->groupSize) != groups || pr.finishF32->n != pr.n || pr.finishF32->m != pr.m)
          throw AbqError("btcAccumulate: the f32 epilogue's shape differs from the problem's");
        args.finishF32 = 1;
        args.epi32 = *pr.finishF32;
      }
      dgrid = dim3(wTiles);
      smem = decodeCtaSmemWords(pr.m, groups) * sizeof(uint32_t);
    }
    const bool cta = plan.decodeCta;
    if (plan.wideFragments > 0) {
      withWeightBits(pr.p, "btcAccumulate", [&](auto bits) {
        constexpr int P = decltype(bits)::value;
        if constexpr (P <= kDecodeWideMaxP) launchBtcDecodeWide<P>(plan.rowsPerToken, plan.wideFragments, dgrid, smem, stream, args);
        else throw AbqError("btcAccumulate: the wide decode kernel takes up to " + std::to_string(kDecodeWideMaxP) + " weight bits, got " + std::to_string(P));
      });
      return;  // its epilogue is CTA-local (fused, finishF32) or it stored every acc entry
    }
    withWeightBits(pr.p, "btcAccumulate", [&](auto bits) {
      launchBtcDecode<decltype(bits)::value>(plan.rowsPerToken, cta, dgrid, smem, stream, args);
    });
    if (!plan.fusedEpilogue && !plan.skipEpilogue) btcEpilogue(pr.epi, stream);
    return;
  }
  const int tokensPerCta = plan.mTiles * kTileM / plan.rowsPerToken;
  const dim3 grid(ceilDiv(pr.m, tokensPerCta), ceilDiv(args.nTiles, kBtcWarps), ceilDiv(args.kPairs, args.pairsPerSplit));
  withWeightBits(pr.p, "btcAccumulate", [&](auto bits) {
    launchBtc<decltype(bits)::value>(plan.rowsPerToken, plan.mTiles, grid, stream, args);
  });
  if (!plan.fusedEpilogue && !plan.skipEpilogue) btcEpilogue(pr.epi, stream);
}

void btcEpilogue(const EpilogueArgs& e, cudaStream_t stream) {
  const int groups = ceilDiv(e.k, e.groupSize), actGroups = ceilDiv(e.k, e.actGroup);
  epilogueKernel<<<gridFor(static_cast<size_t>(e.m) * e.n), kThreads, 0, stream>>>(e, groups, actGroups);
  CUDA_CHECK_LAUNCH("btcEpilogue");
}

}  // namespace abq

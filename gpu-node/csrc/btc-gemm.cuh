// Host entries of the BTC path (btc-gemm.cu): load-time repack and code sums, the accumulate
// dispatch, and the group epilogue.
#pragma once
#include <cuda_fp16.h>
#include <cstdint>
#include <string>

#include "btc-epilogue.cuh"
#include "decode-prep-args.h"

namespace abq {

/** Canonical planes u32 [p][N][W] -> tile layout (btc-layout.cuh). `tile` holds btcTileWords(p,n,k) u32. */
void btcRepack(const uint32_t* canon, int p, int n, int k, uint32_t* tile, cudaStream_t stream);
size_t btcTileWords(int p, int n, int k);

/** Weight code sums Sw u32 [N][G] from canonical planes (derived at load, not stored in the file). */
void weightCodeSums(const uint32_t* canon, int p, int n, int k, int groupSize, uint32_t* sums, cudaStream_t stream);

/** Everything one accumulate call needs (device pointers). */
struct BtcProblem {
  int m, n, k, p, q, groupSize;
  const uint32_t* wtile;    // tile layout (fast path) or nullptr
  const uint32_t* wcanon;   // canonical planes (generic path) or nullptr
  const uint32_t* xplanes;  // u32 [q][M][wordsPad]
  int wordsPad;
  uint32_t* acc;            // u32 [M][N][G], zero on entry
  unsigned* counters;       // [ceil(N / 64)] CTA arrival counters for the fused epilogue, zero on entry
  EpilogueArgs epi;         // the epilogue the kernel applies itself when the plan fuses it
  const uint32_t* wrows = nullptr;  // weight plane rows for the tiled kernel (btcWeightRows), large M only
  const EpiF32Args* finishF32 = nullptr;  // with skipEpilogue: the CTA-local decode kernel writes these f32
                                          // outputs itself (acc untouched); other kernels ignore it
};

/** Which kernel and launch the dispatch table picks; `name` is printed by the benchmark. */
struct BtcPlan {
  bool generic;
  bool fusedEpilogue;       // decode: the last CTA of each n-range applies the epilogue
  bool skipEpilogue;        // leave acc for the caller (tests read it; the engine runs its own epilogue),
                            // no epilogue at all; the tiled kernel then stores its integer sums to acc
  bool tiled;               // large M: the shared-memory tiled kernel (btc-tiled-kernel.cuh), epilogue fused
  bool decode;              // M x R <= 8: weights as the MMA's A operand (btc-decode-kernel.cuh)
  bool decodeCta;           // decode with K split inside one CTA per 16 outputs (btc-decode-cta-kernel.cuh);
                            // splits is then the K pairs per warp
  int wideFragments;        // > 0 (with decode, decodeCta): 8 < M x R <= 128, the wide decode kernel
                            // (btc-decode-wide-kernel.cuh) over this many fragments of activation columns
  int rowsPerToken, mTiles, splits;
  std::string name;
};

/**
 * Fewest tokens for which the plan picks the tiled kernel (the one place the M split is decided). 32, not
 * 64, since the engine's batch-32 decode measured 1.5-2.3x faster tiled (NOTES.md engine E3: the split-K
 * kernel re-streams the weights once per 8 tokens at 8 activation bits).
 */
constexpr int kTiledMinTokens = 32;
/**
 * Below kTiledMinTokens the tiled kernel is still taken from this many activation plane rows (M x R, R the
 * plane rows per token): at M = 8 and 16 with 8 activation bits it measured 1.2-4.5x faster than split-K
 * (H100, 6 layer shapes; NOTES.md engine E3), while at M x R = 16..32 split-K still wins some shapes.
 */
constexpr int kTiledMinPlaneRows = 64;
/** kTiledMinTokens, or ABQ_BTC_TILED_MIN_M where set (measurements). */
int tiledMinTokens();

/** Weight plane rows for the tiled kernel, built from the tile layout when the first large-M call comes. */
size_t btcWeightRowsWords(int p, int n, int k);
void btcWeightRows(const uint32_t* tile, int p, int n, int k, uint32_t* rows, cudaStream_t stream);
/** Tiled kernel: accumulate and epilogue in one launch, y written, acc untouched; or (external) the
 *  integer group sums stored to acc (all of it written: no zeroing needed) and no y. */
void btcTiledAccumulate(const BtcProblem& pr, cudaStream_t stream, bool external = false);
std::string btcTiledName(int p, int q);

/** True when the tile kernel handles this weight group size (whole K or a multiple of 256). */
bool btcTiledSupportsGroup(int k, int groupSize);
BtcPlan btcPlan(const BtcProblem& pr, int smCount);
/** Counters needed by btcAccumulate for N outputs. */
size_t btcCounterCount(int n);
/** Integer accumulators into acc (zero on entry), then the epilogue: fused or as its own kernel. */
void btcAccumulate(const BtcProblem& pr, const BtcPlan& plan, cudaStream_t stream);
/**
 * One token's decode GEMV that normalizes and quantizes its activation row itself (btc-decode-prep-kernel.cuh)
 * and writes the f32 outputs of `finish` (+ residual); pr.xplanes is not read. False (nothing launched) where
 * the plan is not the CTA-local decode kernel or the row does not fit: M != 1, K > 8192, activation groups.
 */
bool btcAccumulateDecodePrep(const BtcProblem& pr, const BtcPlan& plan, const DecodePrepArgs& prep, const EpiF32Args& finish,
                             int smCount, cudaStream_t stream);

/** Group epilogue -> fp16 y [M][N] as a separate kernel (btc-epilogue.cuh). */
void btcEpilogue(const EpilogueArgs& e, cudaStream_t stream);

/** Rows per token of the MMA tile for q activation bits: the next power of two >= q. */
int rowsPerToken(int q);

}  // namespace abq

// The tiled BTC GEMM for large M (prefill): CTA tiles over (token rows, weight rows), K streamed
// through shared memory by a multi-stage cp.async pipeline, mma.sync m16n8k256 AND.POPC, and the
// group epilogue fused at the end (fp16 out, no accumulator buffer, no atomics, no split-K).
//
// Both operands are "plane rows": a row is one bit plane of one token (A) or of one output (B).
//   A row  r = token_local * R + i      (R = 2^logR >= q; rows with i >= q read as zero)
//   B row  v = n * Rp + j               (Rp = 2^logRp >= p; the weight-row layout of btc-tiled.cu)
// One MMA tile of 16 A rows x 8 B rows thus holds 16/R tokens x 8/Rp outputs x every (i, j) pair,
// and D[r][v] = popcount(X_i[token] AND W_j[n]) accumulates straight in the MMA's C registers: the
// 2^(i+j) weights and the sums over the R x Rp plane pairs are applied once per weight group (flush),
// with shifts and xor-shuffles, not once per MMA.
//
// CTA tile and warps (shown: the 128 x 256 shape, 8 warps = 2 along rows x 4 along columns; the default
// 128 x 128 shape has 2 x 2 warps; warp tile 64 x 64 = 4 x 8 MMA tiles, TiledCta):
//
//               kCtaCols = 256 weight plane rows (256 / Rp outputs)
//             +----------+----------+----------+----------+
//   kCtaRows  |  warp 0  |  warp 1  |  warp 2  |  warp 3  |   64 rows each
//   = 128 A   +----------+----------+----------+----------+
//   rows      |  warp 4  |  warp 5  |  warp 6  |  warp 7  |
//             +----------+----------+----------+----------+
//
// K is streamed in stages of kStageWords = 16 words (512 bits = 2 MMA chunks). Shared memory per
// stage: kCtaRows + kCtaCols rows x 64 B, each row 4 units of 16 B. Unit u of row r sits at unit
// position u ^ ((r >> 1) & 3) (XOR swizzle): the 8 rows one ldmatrix phase reads then fall in 8
// different 16-byte bank groups. ldmatrix.x4 yields an A fragment (rows 0-7 / 8-15 x first / second
// 128 bits) or the B fragments of two n-tiles; words are bit planes, so b16 "matrices" are just bits.
//
// Shared memory after the stage ring: the fp32 output tile ysm [tokens][outs + kYPad] (summed over
// the groups in group order, exactly as the reference epilogue), then the current group's epilogue
// constants per token and per output (uint4 each, filled once per group by the whole CTA).
//
// flush (once per weight group; the loop has a single call site, so its code exists once):
//   1. each lane turns its counts into values v = count << (i + j) (plane pairs of one MMA row/column
//      pair of lanes summed in-lane when Rp >= 2: columns 2t, 2t+1 are planes j, j+1 of one output);
//   2. reduce-scatter over the lanes that hold the other planes of the same (token, output): per lane
//      bit, the lane with the bit set keeps the upper half of its values and sends the lower half,
//      so log2(lanes) stages of one shuffle per value pair leave every lane owning 1 / lanes of the
//      sums (balanced, no idle owner lanes; about half the shuffles of an all-reduce per value);
//   3. each owned sum becomes its group term with the constants from shared memory (2 integer
//      multiply-adds, one float multiply and one fma) and is folded into ysm.
// After the last group, all threads write fp16 y with coalesced stores.
#pragma once
#include "btc-epilogue.cuh"
#include "ptx.cuh"

namespace abq {

constexpr int kTiledWarpsM = 2;                            // warps along the A rows of a CTA
constexpr int kWarpMTiles = 4;                              // 16-row MMA tiles per warp
constexpr int kWarpNTiles = 8;                              // 8-column MMA tiles per warp
constexpr int kCtaRows = kTiledWarpsM * kWarpMTiles * 16;   // 128 A plane rows
constexpr int kCtaColsMax = 4 * kWarpNTiles * 8;            // 256: weight rows are padded to this
constexpr int kStageWords = 16;                             // 512 bits of K per stage
constexpr int kRowUnits = kStageWords / 4;                  // 16-byte units per row per stage
// Floats of padding per ysm token row: with the flush's value order (h outermost), the 32 lanes of a
// store hit 32 different banks for R = Rp = 2 (stride = 4 mod 32); scripts/gpu/emulate-tiled.py
// prints the worst conflict of every (R, Rp).
constexpr int kYPad = 4;
static_assert(kRowUnits == 4, "the swizzle (r >> 1) & 3 assumes 4 units (64 B) per row");
static_assert(kWarpNTiles % 2 == 0, "B fragments are loaded two n-tiles per ldmatrix.x4");
static_assert(kStageWords == 2 * 8, "two 256-bit MMA chunks per stage");

/**
 * The CTA shape, by warps along the weight rows (kWarpsN):
 *   2: 128 x 128 plane rows, 4 warps, 2 CTAs per SM (one CTA's flush and prologue overlap the other's
 *      MMAs; twice the CTAs for small grids). The default.
 *   4: 128 x 256 plane rows, 8 warps, 1 CTA per SM (the v5 shape): for R = Rp = 1, whose 128 x 128
 *      fp32 output tile allows only one 128 x 128 CTA per SM, and everywhere with ABQ_BTC_TILED_CTA=128x256.
 */
template <int kWarpsN>
struct TiledCta {
  static_assert(kWarpsN == 2 || kWarpsN == 4, "compiled CTA widths: 2 or 4 warps");
  static constexpr int kWarps = kTiledWarpsM * kWarpsN;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kCols = kWarpsN * kWarpNTiles * 8;   // B plane rows per CTA
  static constexpr int kMinCtasPerSm = kWarpsN == 2 ? 2 : 1;
  static constexpr int kStageUnits = (kCtaRows + kCols) * kRowUnits;
  static constexpr int kStageBytes = kStageUnits * 16;
  static constexpr int kACopies = kCtaRows * kRowUnits / kThreads;
  static constexpr int kBCopies = kCols * kRowUnits / kThreads;
  static_assert((kCtaRows * kRowUnits) % kThreads == 0 && (kCols * kRowUnits) % kThreads == 0,
                "every thread issues the same number of copies per stage");
  static_assert(kCtaColsMax % kCols == 0, "weight rows padded to kCtaColsMax cover whole CTA tiles");
  /** Pipeline depth: 4 stages, 3 for R = Rp = 1, whose fp32 output tile is the largest. */
  static constexpr int stages(int logR, int logRp) { return logR + logRp == 0 ? 3 : 4; }
  /** Shared memory of one launch: stage ring, fp32 output tile, per-token and per-output group constants. */
  static constexpr int smemBytes(int logR, int logRp) {
    return stages(logR, logRp) * kStageBytes + (kCtaRows >> logR) * ((kCols >> logRp) + kYPad) * 4 +
           ((kCtaRows >> logR) + (kCols >> logRp)) * 16;
  }
};
static_assert(TiledCta<4>::smemBytes(0, 0) <= 227 * 1024 && TiledCta<4>::smemBytes(0, 1) <= 227 * 1024 &&
              TiledCta<4>::smemBytes(1, 0) <= 227 * 1024, "the largest tiles must fit an H100 CTA's 227 KB");
static_assert(2 * (TiledCta<2>::smemBytes(1, 1) + 1024) <= 228 * 1024, "two 128 x 128 CTAs per SM from R = Rp = 2 on");

struct BtcTiledArgs {
  const uint32_t* xplanes;  // u32 [q][M][wordsPad] activation planes
  const uint32_t* wrows;    // u32 [rowsPad][wordsPad] weight plane rows v = n Rp + j (btcWeightRows)
  int m, n, q, wordsPad, kSteps;  // kSteps = wordsPad / kStageWords
  int groups, groupChunks, actGroups;  // groupChunks = 256-bit chunks per weight group (any >= 1)
  EpilogueArgs epi;
  // Non-null: the external-accumulator mode (Linear::accumulateExternal, the engine's prefill): each
  // group's exact integer sum is stored to accOut u32 [M][N][groups] (every entry written once, so no
  // zeroing or atomics) and the caller runs its own epilogue; no y.
  uint32_t* accOut;
};

__device__ __forceinline__ int swizzledUnit(int row, int unit) { return row * kRowUnits + (unit ^ ((row >> 1) & 3)); }

/** Lane mask of reduce-scatter stage s: first the t bits (kTStages of them), then the g bits. */
constexpr int flushStageMask(int s, int kTStages) { return s < kTStages ? 1 << s : 4 << (s - kTStages); }

/**
 * One reduce-scatter stage per lane bit (compile-time recursion, so v stays in registers): the lane
 * with the stage's bit keeps the upper half of v[0, kN >> kStage) and sends the lower half, its
 * partner the reverse; the kept half, plus what the partner sent, moves to the front.
 */
template <int kN, int kStage, int kStages, int kTStages>
__device__ __forceinline__ void reduceScatter(uint32_t (&v)[kN], int lane) {
  if constexpr (kStage < kStages) {
    constexpr int kMask = flushStageMask(kStage, kTStages);
    constexpr int kHalf = kN >> (kStage + 1);
    const bool upper = (lane & kMask) != 0;
#pragma unroll
    for (int x = 0; x < kHalf; x++) {
      const uint32_t send = upper ? v[x] : v[x + kHalf];
      const uint32_t keep = upper ? v[x + kHalf] : v[x];
      v[x] = keep + __shfl_xor_sync(kFullMask, send, kMask);
    }
    reduceScatter<kN, kStage + 1, kStages, kTStages>(v, lane);
  }
}

/**
 * kLogR, kLogRp: log2 of the plane rows per token (R) and per output (Rp), 0..3 each. They fix the
 * flush's lane reduction (which lane bits hold the planes of one (token, output)) at compile time.
 * kWarpsN: the CTA shape (TiledCta).
 */
template <int kLogR, int kLogRp, int kWarpsN>
__global__ void __launch_bounds__(TiledCta<kWarpsN>::kThreads, TiledCta<kWarpsN>::kMinCtasPerSm)
    btcTiledKernel(const BtcTiledArgs a) {
  using Cta = TiledCta<kWarpsN>;
  constexpr int kTiledThreads = Cta::kThreads, kCtaCols = Cta::kCols;
  constexpr int kStageUnits = Cta::kStageUnits, kStageBytes = Cta::kStageBytes;
  constexpr int kACopies = Cta::kACopies, kBCopies = Cta::kBCopies;
  constexpr int R = 1 << kLogR, Rp = 1 << kLogRp;
  constexpr int kStages = Cta::stages(kLogR, kLogRp);
  constexpr int kTokens = kCtaRows >> kLogR, kOuts = kCtaCols >> kLogRp;
  constexpr int kYStride = kOuts + kYPad;
  extern __shared__ __align__(16) uint4 smem[];
  float* ysm = reinterpret_cast<float*>(smem + kStages * kStageUnits);
  uint4* tokParams = reinterpret_cast<uint4*>(ysm + kTokens * kYStride);  // {s_x, K_g z_x - Sx_g, -z_x, 0}
  uint4* outParams = tokParams + kTokens;                                 // {s_w, z_w, Sw_g, 0}
  static_assert((kTokens * kYStride * 4) % 16 == 0, "the constants after ysm must be 16-byte aligned");
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t = lane % 4;
  const int warpRow = (warp / kWarpsN) * kWarpMTiles * 16, warpCol = (warp % kWarpsN) * kWarpNTiles * 8;
  const int tokenBase = blockIdx.x * kTokens, outBase = blockIdx.y * kOuts;

  for (int i = tid; i < kTokens * kYStride; i += kTiledThreads) ysm[i] = 0.f;

  // Copy sources and shared offsets of this thread's units (advanced by one stage of words per step).
  const uint32_t smemBase = smemAddr(smem);
  const uint32_t* aSrc[kACopies]; int aBytes[kACopies]; uint32_t aDst[kACopies];
#pragma unroll
  for (int c = 0; c < kACopies; c++) {
    const int idx = tid + c * kTiledThreads, r = idx / kRowUnits, u = idx % kRowUnits;
    const int token = tokenBase + (r >> kLogR), plane = r & (R - 1);
    const bool valid = token < a.m && plane < a.q;
    aSrc[c] = valid ? a.xplanes + (static_cast<size_t>(plane) * a.m + token) * a.wordsPad + 4 * u : a.xplanes;
    aBytes[c] = valid ? 16 : 0;
    aDst[c] = smemBase + swizzledUnit(r, u) * 16;
  }
  const uint32_t* bSrc[kBCopies]; uint32_t bDst[kBCopies];
#pragma unroll
  for (int c = 0; c < kBCopies; c++) {
    const int idx = tid + c * kTiledThreads, r = idx / kRowUnits, u = idx % kRowUnits;
    bSrc[c] = a.wrows + (static_cast<size_t>(blockIdx.y) * kCtaCols + r) * a.wordsPad + 4 * u;  // rows padded
    bDst[c] = smemBase + (kCtaRows * kRowUnits + swizzledUnit(r, u)) * 16;
  }
  auto loadStage = [&](int step) {
    if (step < a.kSteps) {
      const uint32_t slot = (step % kStages) * kStageBytes;
      const int w = step * kStageWords;
#pragma unroll
      for (int c = 0; c < kACopies; c++) cpAsync16(aDst[c] + slot, aSrc[c] + (aBytes[c] ? w : 0), aBytes[c]);
#pragma unroll
      for (int c = 0; c < kBCopies; c++) cpAsync16(bDst[c] + slot, bSrc[c] + w, 16);
    }
    cpAsyncCommit();  // empty groups keep the wait count uniform at the tail
  };

  // ldmatrix lane addresses (unit 0 of the chunk; the swizzle depends only on lane % 8 because every
  // tile base is a multiple of 16 rows).
  const int mat = lane / 8, swz = (lane >> 1) & 3;
  const int aRow = warpRow + (lane & 7) + 8 * (mat & 1), aUnit = mat >> 1;          // a0 a1 a2 a3
  const int bRow = warpCol + (lane & 7) + 8 * (mat >> 1), bUnit = mat & 1;          // b0 b1 (tile 0), b0 b1 (tile 1)
  const uint32_t aBase = smemBase + aRow * kRowUnits * 16;
  const uint32_t bBase = smemBase + (kCtaRows + bRow) * kRowUnits * 16;

  int S[kWarpMTiles][kWarpNTiles][4];
#pragma unroll
  for (int mt = 0; mt < kWarpMTiles; mt++)
#pragma unroll
    for (int nt = 0; nt < kWarpNTiles; nt++)
#pragma unroll
      for (int e = 0; e < 4; e++) S[mt][nt][e] = 0;

  // ---- flush: see the file comment. Values are ordered e = ((h * MT + mt) * NT + nt) * kC + c.
  constexpr int kC = Rp == 1 ? 2 : 1;                      // values per (mt, nt, h): 2 outputs when Rp = 1
  constexpr int kNV = 2 * kWarpMTiles * kWarpNTiles * kC;  // values per lane before the reduction
  constexpr int kTStages = kLogRp > 1 ? kLogRp - 1 : 0;    // lane bits of t holding planes of one output
  constexpr int kStagesN = kTStages + kLogR;               // + lane bits of g holding planes of one token
  constexpr int kNF = kNV >> kStagesN;                     // sums each lane owns afterwards
  const int i = g & (R - 1);                               // activation plane of this lane's rows
  const int shift = i + ((2 * t) & (Rp - 1));              // i + j of column 2t (Rp >= 2)
  // Index of this lane's first owned value in the order above: stage s keeps the upper half when the
  // lane has that stage's bit.
  int laneOffset = 0;
#pragma unroll
  for (int s = 0; s < kStagesN; s++) {
    if (lane & flushStageMask(s, kTStages)) laneOffset += kNV >> (s + 1);
  }
  const bool external = a.accOut != nullptr;  // uniform across the grid
  auto stageParams = [&](int gi) {
    // Group constants (one entry per token and per output of the CTA), exactly the terms of
    // epilogueGroupTerm: bracket = acc + z_w (K_g z_x - Sx) + (-z_x) Sw in wrapping u32.
    __syncthreads();  // the previous group's readers are done
    const EpilogueArgs& e = a.epi;
    const uint32_t kg = static_cast<uint32_t>(min(e.k, (gi + 1) * e.groupSize) - gi * e.groupSize);
    const int ag = a.actGroups == 1 ? 0 : (gi * e.groupSize) / e.actGroup;
    for (int idx = tid; idx < kTokens; idx += kTiledThreads) {
      const int token = tokenBase + idx;
      uint4 p = make_uint4(0u, 0u, 0u, 0u);
      if (token < a.m) {
        const size_t xa = static_cast<size_t>(token) * a.actGroups + ag;
        const uint32_t zx = e.xZeros[xa];
        p = make_uint4(__float_as_uint(e.xScales[xa]), kg * zx - e.xSums[static_cast<size_t>(token) * a.groups + gi],
                       0u - zx, 0u);
      }
      tokParams[idx] = p;
    }
    for (int idx = tid; idx < kOuts; idx += kTiledThreads) {
      const int n = outBase + idx;
      uint4 p = make_uint4(0u, 0u, 0u, 0u);
      if (n < a.n) {
        const size_t wi = static_cast<size_t>(n) * a.groups + gi;
        p = make_uint4(__float_as_uint(e.wScales[wi]), e.wZeros[wi], e.wSums[wi], 0u);
      }
      outParams[idx] = p;
    }
    __syncthreads();
  };
  auto flush = [&](int gi) {
    if (!external) stageParams(gi);
    uint32_t v[kNV];
#pragma unroll
    for (int h = 0; h < 2; h++)
#pragma unroll
      for (int mt = 0; mt < kWarpMTiles; mt++)
#pragma unroll
        for (int nt = 0; nt < kWarpNTiles; nt++) {
          const int idx = ((h * kWarpMTiles + mt) * kWarpNTiles + nt) * kC;
          const uint32_t s0 = static_cast<uint32_t>(S[mt][nt][2 * h]), s1 = static_cast<uint32_t>(S[mt][nt][2 * h + 1]);
          if (Rp == 1) {
            v[idx] = s0 << i;
            v[idx + kC - 1] = s1 << i;  // kC = 2 here
          } else {
            v[idx] = (s0 << shift) + (s1 << (shift + 1));
          }
          S[mt][nt][2 * h] = S[mt][nt][2 * h + 1] = 0;
        }
    reduceScatter<kNV, 0, kStagesN, kTStages>(v, lane);
    if (external) {  // owned sums -> the caller's accumulators
#pragma unroll
      for (int f = 0; f < kNF; f++) {
        const int idx = f + laneOffset;
        const int c = idx % kC, nt = (idx / kC) % kWarpNTiles, mt = (idx / (kC * kWarpNTiles)) % kWarpMTiles;
        const int h = idx / (kC * kWarpNTiles * kWarpMTiles);
        const int token = tokenBase + ((warpRow + mt * 16 + 8 * h + g) >> kLogR);
        const int n = outBase + ((warpCol + nt * 8 + 2 * t + (Rp == 1 ? c : 0)) >> kLogRp);
        if (token < a.m && n < a.n) a.accOut[(static_cast<size_t>(token) * a.n + n) * a.groups + gi] = v[f];
      }
      return;
    }
    // Owned sums -> group terms. Rows/cols of the reduced lane bits are the other planes of the same
    // token/output, which the shifts by kLogR/kLogRp drop.
#pragma unroll
    for (int f = 0; f < kNF; f++) {
      const int idx = f + laneOffset;
      const int c = idx % kC, nt = (idx / kC) % kWarpNTiles, mt = (idx / (kC * kWarpNTiles)) % kWarpMTiles;
      const int h = idx / (kC * kWarpNTiles * kWarpMTiles);
      const int tl = (warpRow + mt * 16 + 8 * h + g) >> kLogR;
      const int nl = (warpCol + nt * 8 + 2 * t + (Rp == 1 ? c : 0)) >> kLogRp;
      const uint4 tp = tokParams[tl], op = outParams[nl];
      const uint32_t bracket = v[f] + op.y * tp.y + tp.z * op.z;
      float& y = ysm[tl * kYStride + nl];
      y = fmaf(__uint_as_float(tp.x) * __uint_as_float(op.x), static_cast<float>(static_cast<int32_t>(bracket)), y);
    }
  };

  // Pipeline: kStages - 1 stages in flight while one is computed. One iteration per 256-bit chunk
  // (two per stage), so the group boundary test and flush appear once in the code.
#pragma unroll
  for (int s = 0; s < kStages - 1; s++) loadStage(s);
  const int totalChunks = 2 * a.kSteps;
  int group = 0;
  int nextBoundary = a.groups > 1 ? a.groupChunks : totalChunks;  // chunk count that ends `group`
  uint32_t slot = 0;
#pragma unroll 1
  for (int chunk = 0; chunk < totalChunks; chunk++) {
    const int half = chunk & 1;
    if (half == 0) {
      const int step = chunk >> 1;
      cpAsyncWait<kStages - 2>();
      __syncthreads();                          // stage `step` landed for all; slot step-1 is free
      loadStage(step + kStages - 1);
      slot = (step % kStages) * kStageBytes;
    }
    const uint32_t aAddr = aBase + slot + ((2 * half + aUnit) ^ swz) * 16;
    const uint32_t bAddr = bBase + slot + ((2 * half + bUnit) ^ swz) * 16;
    uint32_t af[kWarpMTiles][4];
#pragma unroll
    for (int mt = 0; mt < kWarpMTiles; mt++) ldmatrixX4(af[mt], aAddr + mt * 16 * kRowUnits * 16);
#pragma unroll
    for (int np = 0; np < kWarpNTiles / 2; np++) {
      uint32_t b[4];
      ldmatrixX4(b, bAddr + np * 16 * kRowUnits * 16);
#pragma unroll
      for (int mt = 0; mt < kWarpMTiles; mt++) {
        mmaAndPopcAcc(S[mt][2 * np], af[mt], b[0], b[1]);
        mmaAndPopcAcc(S[mt][2 * np + 1], af[mt], b[2], b[3]);
      }
    }
    if (chunk + 1 == nextBoundary) {
      flush(group);
      group++;
      nextBoundary = group + 1 < a.groups ? nextBoundary + a.groupChunks : totalChunks;
    }
  }
  cpAsyncWait<0>();
  if (external) return;
  __syncthreads();
  for (int idx = tid; idx < kTokens * kOuts; idx += kTiledThreads) {
    const int tl = idx / kOuts, nl = idx % kOuts;
    const int token = tokenBase + tl, n = outBase + nl;
    if (token < a.m && n < a.n) epilogueStore(a.epi, token, n, ysm[tl * kYStride + nl]);
  }
}

}  // namespace abq

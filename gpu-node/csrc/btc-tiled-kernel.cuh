// The tiled BTC GEMM for large M (prefill): CTA tiles over (token rows, weight rows), K streamed
// through shared memory by a multi-stage cp.async pipeline, mma.sync m16n8k256 AND.POPC, and the
// group epilogue fused at the end (fp16 out, no accumulator buffer, no atomics, no split-K).
//
// Both operands are "plane rows": a row is one bit plane of one token (A) or of one output (B).
//   A row  r = token_local * R + i      (R = 2^logR >= q; rows with i >= q read as zero)
//   B row  v = n * Rp + j               (Rp = 2^logRp >= p; the weight-row layout below)
// One MMA tile of 16 A rows x 8 B rows thus holds 16/R tokens x 8/Rp outputs x every (i, j) pair,
// and D[r][v] = popcount(X_i[token] AND W_j[n]) accumulates straight in the MMA's C registers: the
// 2^(i+j) weights and the sums over the R x Rp plane pairs are applied once per weight group (flush),
// with shifts and xor-shuffles, not once per MMA.
//
// CTA tile and warps (8 warps = 2 along rows x 4 along columns, warp tile 64 x 64 = 4 x 8 MMA tiles):
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
// After the K loop: the per-CTA fp32 outputs (one owner thread per (token, output), summed over the
// groups in group order, exactly as the reference epilogue) are in shared memory; all threads then
// write fp16 y with coalesced stores.
#pragma once
#include "btc-epilogue.cuh"
#include "ptx.cuh"

namespace abq {

constexpr int kTiledWarpsM = 2, kTiledWarpsN = 4;
constexpr int kTiledWarps = kTiledWarpsM * kTiledWarpsN;
constexpr int kTiledThreads = kTiledWarps * 32;
constexpr int kWarpMTiles = 4;                              // 16-row MMA tiles per warp
constexpr int kWarpNTiles = 8;                              // 8-column MMA tiles per warp
constexpr int kCtaRows = kTiledWarpsM * kWarpMTiles * 16;   // 128 A plane rows
constexpr int kCtaCols = kTiledWarpsN * kWarpNTiles * 8;    // 256 B plane rows
constexpr int kStageWords = 16;                             // 512 bits of K per stage
constexpr int kRowUnits = kStageWords / 4;                  // 16-byte units per row per stage
constexpr int kTiledStages = 4;
constexpr int kStageUnits = (kCtaRows + kCtaCols) * kRowUnits;
constexpr int kStageBytes = kStageUnits * 16;
static_assert(kRowUnits == 4, "the swizzle (r >> 1) & 3 assumes 4 units (64 B) per row");
static_assert((kCtaRows * kRowUnits) % kTiledThreads == 0 && (kCtaCols * kRowUnits) % kTiledThreads == 0,
              "every thread issues the same number of copies per stage");
static_assert(kWarpNTiles % 2 == 0, "B fragments are loaded two n-tiles per ldmatrix.x4");
static_assert(kStageWords == 2 * 8, "two 256-bit MMA chunks per stage");
constexpr int kACopies = kCtaRows * kRowUnits / kTiledThreads;  // 2
constexpr int kBCopies = kCtaCols * kRowUnits / kTiledThreads;  // 4

/** Shared memory of one launch: the stage ring plus the fp32 output tile (tokens x outputs per CTA). */
inline int btcTiledSmemBytes(int logR, int logRp) {
  return kTiledStages * kStageBytes + (kCtaRows >> logR) * (kCtaCols >> logRp) * 4;
}

struct BtcTiledArgs {
  const uint32_t* xplanes;  // u32 [q][M][wordsPad] activation planes
  const uint32_t* wrows;    // u32 [rowsPad][wordsPad] weight plane rows v = n Rp + j (btcWeightRows)
  int m, n, q, wordsPad, kSteps;  // kSteps = wordsPad / kStageWords
  int logR, logRp;
  int groups, groupChunks, actGroups;
  EpilogueArgs epi;
};

__device__ __forceinline__ int swizzledUnit(int row, int unit) { return row * kRowUnits + (unit ^ ((row >> 1) & 3)); }

__global__ void __launch_bounds__(kTiledThreads, 1) btcTiledKernel(const BtcTiledArgs a) {
  extern __shared__ __align__(16) uint4 smem[];
  const int R = 1 << a.logR, Rp = 1 << a.logRp;
  const int tokensPerCta = kCtaRows >> a.logR, outsPerCta = kCtaCols >> a.logRp;
  float* ysm = reinterpret_cast<float*>(smem + kTiledStages * kStageUnits);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int g = lane / 4, t = lane % 4;
  const int warpRow = (warp / kTiledWarpsN) * kWarpMTiles * 16, warpCol = (warp % kTiledWarpsN) * kWarpNTiles * 8;
  const int tokenBase = blockIdx.x * tokensPerCta, outBase = blockIdx.y * outsPerCta;

  for (int i = tid; i < tokensPerCta * outsPerCta; i += kTiledThreads) ysm[i] = 0.f;

  // Copy sources and shared offsets of this thread's units (advanced by one stage of words per step).
  const uint32_t smemBase = smemAddr(smem);
  const uint32_t* aSrc[kACopies]; int aBytes[kACopies]; uint32_t aDst[kACopies];
#pragma unroll
  for (int c = 0; c < kACopies; c++) {
    const int idx = tid + c * kTiledThreads, r = idx / kRowUnits, u = idx % kRowUnits;
    const int token = tokenBase + (r >> a.logR), plane = r & (R - 1);
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
      const uint32_t slot = (step % kTiledStages) * kStageBytes;
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

  // flush: weight each count by 2^(i+j), sum the R x Rp plane pairs of each (token, output) across
  // lanes, and fold the group's term into the owner thread's fp32 output in shared memory.
  auto flush = [&](int group) {
    const int i = g & (R - 1);  // tile bases are multiples of 8 >= R
#pragma unroll
    for (int mt = 0; mt < kWarpMTiles; mt++) {
#pragma unroll
      for (int nt = 0; nt < kWarpNTiles; nt++) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
          const int row = warpRow + mt * 16 + g + 8 * h, col = warpCol + nt * 8 + 2 * t;
          const uint32_t s0 = static_cast<uint32_t>(S[mt][nt][2 * h]), s1 = static_cast<uint32_t>(S[mt][nt][2 * h + 1]);
          S[mt][nt][2 * h] = S[mt][nt][2 * h + 1] = 0;
          uint32_t v[2];
          int nv;
          if (Rp == 1) {  // columns 2t and 2t+1 are two outputs
            v[0] = s0 << i; v[1] = s1 << i; nv = 2;
          } else {        // columns 2t, 2t+1 are planes j, j+1 of one output
            const int j = col & (Rp - 1);
            v[0] = (s0 << (i + j)) + (s1 << (i + j + 1)); v[1] = 0; nv = 1;
            for (int off = 1; off < Rp / 2; off <<= 1) v[0] += __shfl_xor_sync(kFullMask, v[0], off);
          }
          for (int off = 4; off < 4 * R; off <<= 1) {
            v[0] += __shfl_xor_sync(kFullMask, v[0], off);
            if (nv == 2) v[1] += __shfl_xor_sync(kFullMask, v[1], off);
          }
          const bool owner = i == 0 && (Rp <= 2 || (t & (Rp / 2 - 1)) == 0);
          const int tl = row >> a.logR, token = tokenBase + tl;
          if (owner && token < a.m) {
            for (int c = 0; c < nv; c++) {
              const int nl = (col + c) >> a.logRp, n = outBase + nl;
              if (n < a.n) {
                float& y = ysm[tl * outsPerCta + nl];
                y = epilogueGroupTerm(a.epi, token, n, group, a.groups, a.actGroups, v[c], y);
              }
            }
          }
        }
      }
    }
  };

  // Pipeline: kTiledStages - 1 stages in flight while one is computed.
#pragma unroll
  for (int s = 0; s < kTiledStages - 1; s++) loadStage(s);
  int group = 0;
#pragma unroll 1
  for (int step = 0; step < a.kSteps; step++) {
    cpAsyncWait<kTiledStages - 2>();
    __syncthreads();                          // stage `step` landed for all; slot step-1 is free
    loadStage(step + kTiledStages - 1);
    const uint32_t slot = (step % kTiledStages) * kStageBytes;
#pragma unroll
    for (int half = 0; half < 2; half++) {
      const int chunk = 2 * step + half;
      const int chunkGroup = min(chunk / a.groupChunks, a.groups - 1);
      if (chunkGroup != group) {
        flush(group);
        group = chunkGroup;
      }
      uint32_t af[kWarpMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kWarpMTiles; mt++)
        ldmatrixX4(af[mt], aBase + slot + (mt * 16 * kRowUnits + ((2 * half + aUnit) ^ swz)) * 16);
#pragma unroll
      for (int np = 0; np < kWarpNTiles / 2; np++) {
        uint32_t b[4];
        ldmatrixX4(b, bBase + slot + (np * 16 * kRowUnits + ((2 * half + bUnit) ^ swz)) * 16);
#pragma unroll
        for (int mt = 0; mt < kWarpMTiles; mt++) {
          mmaAndPopcAcc(S[mt][2 * np], af[mt], b[0], b[1]);
          mmaAndPopcAcc(S[mt][2 * np + 1], af[mt], b[2], b[3]);
        }
      }
    }
  }
  cpAsyncWait<0>();
  flush(group);
  __syncthreads();
  for (int idx = tid; idx < tokensPerCta * outsPerCta; idx += kTiledThreads) {
    const int token = tokenBase + idx / outsPerCta, n = outBase + idx % outsPerCta;
    if (token < a.m && n < a.n) epilogueStore(a.epi, token, n, ysm[idx]);
  }
}

}  // namespace abq

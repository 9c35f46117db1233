// Weight-only decode GEMV (M <= 16 tokens) over the A16 tile layout of a16-gemm.cu: no second copy.
//
//   y[m, n] = sum_g s[n, g] * sum_{k in g} (c[n, k] - z[n, g]) * x[m, k]      (fp16 x, fp32 sums)
//
// Why a second kernel: a16Kernel puts 16 tokens in the MMA's A operand and 8 weight rows in B, so at
// M = 1 each MMA covers 8 outputs with 15 of 16 token rows empty, and each warp loads a batch of weights,
// then computes it: at most 2 KB in flight per warp, and the activation loads sit right before their
// MMAs. It reached 19-50% of copy bandwidth at M = 1 (docs/BENCHMARKS.md), latency- not issue-bound.
//
// Layout read (a16-gemm.cu header): uint4 tile[nTiles][kBlocks][32 lanes]; lane (g = lane/4, t = lane%4)
// of n-tile T holds row 8T + g and, in each 64-wide sub-block of K, K = 16t + 4 s4 + {0, 1} (pair b0)
// and 16t + 4 s4 + {2, 3} (pair b1) of MMA step s4 = 0..3, as F-bit code fields.
//
// Roles: a warp takes n-tiles 2S and 2S + 1 (slab S, 16 rows) and feeds the weights as the A operand of
// mma.m16n8k16:
//
//             B: token columns 0..7 of tile u (lane (g, t) gives x[token 8u + g][its 4 K of the step])
//            +--------------------------------+
//   row 0    | n-tile 2S, row g  (a0, a2)      |   a0/a2 = lane's pair b0/b1 of n-tile 2S (row g)
//   ...      |                                 |   a1/a3 = the same of n-tile 2S + 1 (row g + 8)
//   row 15   | n-tile 2S + 1, row g  (a1, a3)  |   d0,d1: row g, tokens 2t, 2t+1; d2,d3: row g + 8
//            +--------------------------------+
//
// so one MMA covers 16 rows x 16 K (twice a16Kernel's 8 x 16) and A and B meet with the same K
// permutation, as a dot product allows. With 9..16 tokens (NT = 2) each dequantized A fragment feeds a
// second MMA for tokens 8..15: the weights are read and unpacked once for all of them.
//
// Dequantization: a 32-bit word holds, per half, 16/F fields; field slot j of a byte masked with the
// 1024.0 exponent (lop3) is half2 (1024 + 2^(F j) c), and one hfma2 with 2^-(F j) and -(1024 / 2^(F j) + z)
// gives c - z exactly (every value is an integer below 2048, so fp16 holds it): one shift per byte, one
// lop3 and one hfma2 per pair of K.
//
// Streaming: a CTA is W warps on one slab; warp w takes lane-load blocks w, w + W, w + 2W, ...
// (the CTA walks both n-tiles' rows front to back in W x 512 B strides) through its own ring of S
// cp.async stages, S - 1 blocks (2 x 512 B each) in flight while it computes one. The group scales
// and zero points of a block's sub-blocks (16 rows: 64 B + 16 B each) travel in the same stage: they are
// DRAM reads as cold as the weights (ncu: waiting for them, one sub-block ahead, was half of all stall
// cycles). A lane reads its own weight copies back; the constants are shared, so a __syncwarp sits
// between the wait for a block and the copy into the stage read last. Activations of the next 64-wide sub-block are loaded (through L1: every warp of the SM reads
// the same x) while the current one computes. Products accumulate in fp32 in the MMA per sub-block, are scaled into fp32 row sums, and
// the warps' sums are added in warp order through shared memory: deterministic, one launch, no split-K
// scratch.
#pragma once
#include <cuda_fp16.h>

#include "a16-gemm.cuh"
#include "btc-layout.cuh"
#include "ptx.cuh"

namespace abq {

constexpr int kGemvMaxTokens = 16;  // two token tiles of the MMA's n = 8

struct A16GemvArgs {
  const uint4* tile; const float* scales; const uint8_t* zeros;
  const __half* x; int xStride;
  const float* bias; __half* y;
  int m, n, nPad, nTiles, kBlocks, groups, groupSize, groupShift;  // groupShift: log2(groupSize) or -1
};

namespace gemv {

/** Activations of one 64-wide sub-block for this lane: its 16 halves of x for token g + 8u of each of
 *  the NT token tiles u (zeros for tokens past M). */
template <int NT>
struct SubBlockIn {
  uint32_t x[NT][8];
};

/** fp16 bits of an integer 0 <= v < 2048 (exact), and of 2^-e for 0 <= e <= 14: compile-time constants. */
constexpr uint32_t halfBitsOfInt(int v) {
  int e = 0;
  while (e < 10 && (2 << e) <= v) e++;
  return v == 0 ? 0u : static_cast<uint32_t>(((e + 15) << 10) | ((v << (10 - e)) & 0x3FF));
}
constexpr uint32_t halfBitsOfInversePow2(int e) { return static_cast<uint32_t>((15 - e) << 10); }
constexpr uint32_t pairOf(uint32_t h) { return h | (h << 16); }
static_assert(halfBitsOfInt(1024) == 0x6400 && halfBitsOfInt(768) == 0x6200 && halfBitsOfInt(1) == 0x3C00, "fp16 bits");

__device__ __forceinline__ uint32_t h2bits(__half2 h) { return *reinterpret_cast<const uint32_t*>(&h); }
__device__ __forceinline__ __half2 bitsH2(uint32_t u) { return *reinterpret_cast<const __half2*>(&u); }

}  // namespace gemv

template <int F,   // code field bits (2, 4, 8)
          int S,   // cp.async stages per warp
          int W,   // warps per CTA (= K splits of a slab)
          int NT>  // token tiles of 8 (M <= 8 NT): each dequantized A fragment feeds NT MMAs
__global__ void __launch_bounds__(W * 32) a16GemvKernel(const A16GemvArgs a) {
  static_assert(F == 2 || F == 4 || F == 8, "field width");
  static_assert(S >= 2, "a stage in use and one in flight");
  using SubBlockIn = gemv::SubBlockIn<NT>;
  constexpr int kb = 512 / F;                 // K per lane load (a block)
  constexpr int subPerBlock = kb / 64;        // 64-wide sub-blocks per block: 4, 2, 1
  constexpr int wordsPerSub = 4 / subPerBlock;
  constexpr int pairsPerWord = 16 / F;
  constexpr int slotsPerByte = 8 / F;
  constexpr uint32_t kMagic1024 = 0x64006400u;

  __shared__ uint4 ring[W][S][2][kLanes];
  __shared__ __align__(16) float ringScale[W][S][subPerBlock][2][kTileN];  // [n-tile 2S + e][row g]
  __shared__ __align__(8) uint8_t ringZero[W][S][subPerBlock][2][kTileN];
  // The warps' final sums [W][16 rows][8 NT tokens] reuse the ring once every copy has landed.
  static_assert(sizeof(ring) >= sizeof(float) * W * 16 * 8 * NT, "partial sums fit in the ring");
  float (*partial)[16][8 * NT] = reinterpret_cast<float (*)[16][8 * NT]>(&ring[0][0][0][0]);

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int nt0 = 2 * blockIdx.x, nt1 = min(nt0 + 1, a.nTiles - 1);  // a last odd n-tile reads itself twice
  const int count = warp < a.kBlocks ? (a.kBlocks - 1 - warp) / W + 1 : 0;  // this warp's blocks
  // Everything per lane that does not move along K is computed once: the per-sub-block bookkeeping
  // (addresses, group index) was half the instructions of the first version (SASS, NOTES.md).
  const uint4* src0 = a.tile + (static_cast<size_t>(nt0) * a.kBlocks + warp) * kLanes + lane;
  const uint4* src1 = a.tile + (static_cast<size_t>(nt1) * a.kBlocks + warp) * kLanes + lane;
  const uint32_t ring0 = smemAddr(&ring[warp][0][0][lane]);
  constexpr uint32_t kStageBytes = 2 * kLanes * sizeof(uint4), kTileBytes = kLanes * sizeof(uint4);
  const __half* xLane[NT];
#pragma unroll
  for (int u = 0; u < NT; u++) xLane[u] = g + 8 * u < a.m ? a.x + static_cast<size_t>(g + 8 * u) * a.xStride + 16 * t : nullptr;
  // Group constants: lane 6 sb + r copies, for sub-block sb, r = 0..3 a 16-byte half of one n-tile's 8
  // scales, r = 4, 5 one n-tile's 8 zero points.
  const int constSub = lane / 6, constRole = lane % 6;
  const bool copiesConst = constSub < subPerBlock;
  const int constTile = constRole < 4 ? (constRole < 2 ? nt0 : nt1) : (constRole == 4 ? nt0 : nt1);
  const int lastGroup = a.groups - 1;

  int issued = 0;
  auto issue = [&]() {  // the next block of this warp -> stage issued % S (an empty group past the end keeps the count)
    if (issued < count) {
      const size_t off = static_cast<size_t>(issued) * W * kLanes;
      const int stage = issued % S;
      const uint32_t dst = ring0 + stage * kStageBytes;
      cpAsync16(dst, src0 + off, 16);
      cpAsync16(dst + kTileBytes, src1 + off, 16);
      if (copiesConst) {
        const int kSub = (warp + issued * W) * kb + constSub * 64;
        int gi = 0;
        if (lastGroup > 0) gi = min(a.groupShift >= 0 ? kSub >> a.groupShift : kSub / a.groupSize, lastGroup);
        const size_t base = static_cast<size_t>(gi) * a.nPad + constTile * kTileN;
        if (constRole < 4)
          cpAsync16(smemAddr(&ringScale[warp][stage][constSub][constRole / 2][4 * (constRole % 2)]),
                    a.scales + base + 4 * (constRole % 2), 16);
        else
          cpAsync8(smemAddr(&ringZero[warp][stage][constSub][constRole - 4][0]), a.zeros + base);
      }
    }
    issued++;
    cpAsyncCommit();
  };
  auto load = [&](int kSub, SubBlockIn& in) {
#pragma unroll
    for (int u = 0; u < NT; u++) {
      if (xLane[u]) {
        const uint4 lo = __ldg(reinterpret_cast<const uint4*>(xLane[u] + kSub));
        const uint4 hi = __ldg(reinterpret_cast<const uint4*>(xLane[u] + kSub + 8));
        in.x[u][0] = lo.x; in.x[u][1] = lo.y; in.x[u][2] = lo.z; in.x[u][3] = lo.w;
        in.x[u][4] = hi.x; in.x[u][5] = hi.y; in.x[u][6] = hi.z; in.x[u][7] = hi.w;
      } else {
#pragma unroll
        for (int e = 0; e < 8; e++) in.x[u][e] = 0u;
      }
    }
  };
  auto kOf = [&](int i) { return (warp + i * W) * kb; };  // first K of the warp's i-th block

  // One 64-wide sub-block: 4 MMA steps over words [sb * wordsPerSub, ...) of both n-tiles' loads.
  float acc[NT][4] = {};
  auto compute = [&](const uint32_t (&w0)[4], const uint32_t (&w1)[4], int stage, int sb, const SubBlockIn& in) {
    const float s0 = ringScale[warp][stage][sb][0][g], s1 = ringScale[warp][stage][sb][1][g];
    const uint32_t z0 = zeroHalf2(ringZero[warp][stage][sb][0][g]), z1 = zeroHalf2(ringZero[warp][stage][sb][1][g]);
    // -(1024 / 2^(F j) + z) = (1024 - 1024 / 2^(F j)) - (1024 + z), exact in fp16.
    __half2 c0[slotsPerByte], c1[slotsPerByte], mul[slotsPerByte];
#pragma unroll
    for (int j = 0; j < slotsPerByte; j++) {
      const __half2 k = gemv::bitsH2(gemv::pairOf(gemv::halfBitsOfInt(1024 - (1024 >> (F * j)))));
      c0[j] = __hsub2(k, gemv::bitsH2(z0));
      c1[j] = __hsub2(k, gemv::bitsH2(z1));
      mul[j] = gemv::bitsH2(gemv::pairOf(gemv::halfBitsOfInversePow2(F * j)));
    }
    auto dequant = [&](uint32_t word, int x, const __half2 (&c)[slotsPerByte]) {
      const int j = x % slotsPerByte, shift = 8 * (x / slotsPerByte);
      const uint32_t mask = ((1u << F) - 1u) << (F * j);
      const uint32_t h = lop3AndOr(word >> shift, mask | (mask << 16), kMagic1024);
      return gemv::h2bits(__hfma2(gemv::bitsH2(h), mul[j], c[j]));
    };
    float d[NT][4] = {};
#pragma unroll
    for (int ws = 0; ws < wordsPerSub; ws++) {
      const int wi = sb * wordsPerSub + ws;
#pragma unroll
      for (int x = 0; x < pairsPerWord; x += 2) {
        const int s4 = ((wi * pairsPerWord + x) / 2) % 4;  // MMA step inside the sub-block
        const uint32_t a0 = dequant(w0[wi], x, c0), a1 = dequant(w1[wi], x, c1);
        const uint32_t a2 = dequant(w0[wi], x + 1, c0), a3 = dequant(w1[wi], x + 1, c1);
#pragma unroll
        for (int u = 0; u < NT; u++) mmaF16(d[u], a0, a1, a2, a3, in.x[u][2 * s4], in.x[u][2 * s4 + 1]);
      }
    }
#pragma unroll
    for (int u = 0; u < NT; u++) {
      acc[u][0] = fmaf(s0, d[u][0], acc[u][0]);
      acc[u][1] = fmaf(s0, d[u][1], acc[u][1]);
      acc[u][2] = fmaf(s1, d[u][2], acc[u][2]);
      acc[u][3] = fmaf(s1, d[u][3], acc[u][3]);
    }
  };

#pragma unroll
  for (int i = 0; i < S - 1; i++) issue();
  // Sub-block inputs are double-buffered with a static index: an even number of sub-blocks per block
  // (F = 2, 4) makes the parity of a sub-block its own index's; F = 8 (one per block) loads in place.
  SubBlockIn in[2] = {};
  if (subPerBlock > 1 && count > 0) load(kOf(0), in[0]);

#pragma unroll 1
  for (int i = 0; i < count; i++) {
    cpAsyncWait<S - 2>();  // this lane's copies of block i have landed
    __syncwarp();          // ... and every lane's (the group constants are shared), and every lane is done
                           // with block i - 1, whose stage the next issue overwrites
    issue();
    const int stageIdx = i % S;
    const uint32_t stage = ring0 + stageIdx * kStageBytes;
    uint32_t w0[4], w1[4];
    asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n" : "=r"(w0[0]), "=r"(w0[1]), "=r"(w0[2]), "=r"(w0[3]) : "r"(stage));
    asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(w1[0]), "=r"(w1[1]), "=r"(w1[2]), "=r"(w1[3]) : "r"(stage + kTileBytes));
    const int k0 = kOf(i);
    if constexpr (subPerBlock == 1) {
      load(k0, in[0]);
      compute(w0, w1, stageIdx, 0, in[0]);
    } else {
#pragma unroll
      for (int sb = 0; sb < subPerBlock; sb++) {
        if (sb + 1 < subPerBlock) load(k0 + (sb + 1) * 64, in[(sb + 1) & 1]);
        else if (i + 1 < count) load(kOf(i + 1), in[0]);
        compute(w0, w1, stageIdx, sb, in[sb & 1]);
      }
    }
  }
  cpAsyncWait<0>();
  __syncthreads();  // every warp is done with the ring

#pragma unroll
  for (int u = 0; u < NT; u++) {
    partial[warp][g][8 * u + 2 * t] = acc[u][0];
    partial[warp][g][8 * u + 2 * t + 1] = acc[u][1];
    partial[warp][g + 8][8 * u + 2 * t] = acc[u][2];
    partial[warp][g + 8][8 * u + 2 * t + 1] = acc[u][3];
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < 16 * 8 * NT; idx += W * 32) {
    const int r = idx / (8 * NT), token = idx % (8 * NT);
    const int row = r < kTileN ? nt0 * kTileN + r : nt1 * kTileN + (r - kTileN);
    if (token < a.m && row < a.n && (r < kTileN || nt1 != nt0)) {
      float s = 0.f;
#pragma unroll
      for (int w = 0; w < W; w++) s += partial[w][r][token];
      a.y[static_cast<size_t>(token) * a.n + row] = __float2half_rn(s + (a.bias ? a.bias[row] : 0.f));
    }
  }
}

}  // namespace abq

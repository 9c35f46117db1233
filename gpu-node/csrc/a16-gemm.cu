// Weight-only (A16) GEMM: y = x (fp16) * dequant(W)^T, fp16 tensor cores with fp32 accumulators.
//
// Tile layout (written once at load by a16Repack): codes in F-bit fields, F = 2, 4 or 8 (p rounded up):
//   uint4 [nTiles][kBlocks][32 lanes], one lane load = 128 bits = KB = 512/F values of K for row
//   n = 8 nTile + lane/4. Word w of the load holds 8/F MMA k-steps of 16; in each word, pair x has its
//   first element at bits [F x, F x + F) and its second at bits [16 + F x, ...), and step s uses pairs
//   2s (the b0 fragment) and 2s+1 (b1), t = lane % 4.
//   K is permuted inside each 64-wide sub-block (a dot product may sum in any order, as long as A and
//   B agree): in sub-block step s4 (0..3), fragment slots (2t, 2t+1) hold K = 16t + 4 s4 + {0, 1} and
//   slots (2t+8, 2t+9) hold 16t + 4 s4 + {2, 3}. So a lane's A values for 4 steps are 16 contiguous
//   halves of x: two 16-byte loads per row instead of eight 4-byte ones. Groups are multiples of 64.
//   So (word >> F x) & 0x000F000F (F=4) | 0x64006400 is the half2 (1024 + c0, 1024 + c1): one lop3 per
//   pair; subtracting the half2 constant (1024 + z) gives c - z exactly (|c - z| <= 255). The group's
//   products accumulate in fp32 and are scaled once per group (y += s_g * acc_g), so the only roundings
//   are the fp16 inputs and the fp32 sums.
// Scales f32 [G][nPad] and zero points u8 [G][nPad] are transposed so a lane's two output columns
// (2t, 2t+1) are one 8-byte (scales) and one 2-byte (zeros) load. A zero point z becomes the half2
// constant (1024 + z, 1024 + z) in two integer instructions: 1024 + z has the fp16 bits 0x6400 | z.
// (Kept as bytes, not as that 4-byte constant: at 2 bits and groups of 64, scales and zeros are
// read next to 16 bytes of weights per row and group, so their size is a real share of the traffic.)
// Grid: x = token blocks of 16 MT, y = groups of 8 n-tiles (one per warp), z = K splits; split
// partials go to an f32 scratch and are summed in split order (deterministic) by a second kernel.
#include "a16-gemm.cuh"
#include "a16-gemv-kernel.cuh"
#include "btc-layout.cuh"
#include "cuda-check.cuh"
#include "ptx.cuh"

#include <climits>
#include <cstdlib>

namespace abq {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kSubK = 64;  // K permutation unit (4 MMA steps): groups are multiples of it
constexpr int kTargetCtasPerSm = 8;
constexpr int kMinBlocksPerSplit = 8;
constexpr uint32_t kMagic1024 = 0x64006400u;  // half2 (1024, 1024)

struct A16Args {
  const uint4* tile; const float* scales; const uint8_t* zeros;
  const __half* x; int xStride;
  float* partial; __half* y; const float* bias;
  int m, n, nPad, groups, groupSize, nTiles, kBlocks, blocksPerSplit;
};

template <int F,   // code field bits (2, 4, 8)
          int MT>  // m-tiles (16 tokens each) per warp
__global__ void __launch_bounds__(kThreads, MT == 1 ? 4 : 1) a16Kernel(const A16Args a) {
  static_assert(F == 2 || F == 4 || F == 8, "field width");
  constexpr int kb = 512 / F;               // K per lane load
  constexpr int stepsPerWord = 8 / F;
  constexpr uint32_t mask = F == 2 ? 0x00030003u : F == 4 ? 0x000F000Fu : 0x00FF00FFu;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;
  const int nTile = blockIdx.y * kWarps + warp;
  if (nTile >= a.nTiles) return;
  const int blockBegin = blockIdx.z * a.blocksPerSplit;
  const int blockEnd = min(a.kBlocks, blockBegin + a.blocksPerSplit);
  if (blockBegin >= blockEnd) return;
  const int tokenBase = blockIdx.x * MT * 16;

  const __half* aRow[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int h = 0; h < 2; h++) {
      const int token = tokenBase + mt * 16 + g + 8 * h;
      aRow[mt][h] = token < a.m ? a.x + static_cast<size_t>(token) * a.xStride + 16 * t : nullptr;
    }

  float acc[MT][4], cg[MT][4];
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int e = 0; e < 4; e++) acc[mt][e] = cg[mt][e] = 0.f;

  const int colBase = nTile * kTileN;
  int group = a.groups == 1 ? 0 : min(blockBegin * kb / a.groupSize, a.groups - 1);
  // Group constants are loaded one group ahead, so a group change never waits on a global load.
  auto zeroOf = [&](int gi) {
    return zeroHalf2(a.zeros[static_cast<size_t>(min(gi, a.groups - 1)) * a.nPad + colBase + g]);
  };
  auto scaleOf = [&](int gi) {
    return *reinterpret_cast<const float2*>(a.scales + static_cast<size_t>(gi) * a.nPad + colBase + 2 * t);
  };
  uint32_t zz = zeroOf(group), zzNext = zeroOf(group + 1);
  float2 scale = scaleOf(group);
  // K where the next group starts (a counter, not a division per sub-block: NOTES.md v6e).
  int nextGroupK = group + 1 < a.groups ? (group + 1) * a.groupSize : INT_MAX;
  auto flushGroup = [&]() {
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
      acc[mt][0] = fmaf(scale.x, cg[mt][0], acc[mt][0]);
      acc[mt][1] = fmaf(scale.y, cg[mt][1], acc[mt][1]);
      acc[mt][2] = fmaf(scale.x, cg[mt][2], acc[mt][2]);
      acc[mt][3] = fmaf(scale.y, cg[mt][3], acc[mt][3]);
#pragma unroll
      for (int e = 0; e < 4; e++) cg[mt][e] = 0.f;
    }
  };
  // A for one 64-wide sub-block: 16 contiguous halves of a row (see the K permutation above).
  auto loadA = [](const __half* row, int k, uint32_t (&w)[8]) {
    if (row) {
      const uint4 lo = __ldg(reinterpret_cast<const uint4*>(row + k));
      const uint4 hi = __ldg(reinterpret_cast<const uint4*>(row + k + 8));
      w[0] = lo.x; w[1] = lo.y; w[2] = lo.z; w[3] = lo.w; w[4] = hi.x; w[5] = hi.y; w[6] = hi.z; w[7] = hi.w;
    } else {
#pragma unroll
      for (int i = 0; i < 8; i++) w[i] = 0u;
    }
  };

  uint32_t xa[MT][2][8];
  // One 16-byte lane load of weights: 512/F values of K, dequantized step by step into B fragments.
  auto computeBlock = [&](int blk, const uint4& wv) {
    const uint32_t words[4] = {wv.x, wv.y, wv.z, wv.w};
#pragma unroll
    for (int wi = 0; wi < 4; wi++) {
#pragma unroll
      for (int s = 0; s < stepsPerWord; s++) {
        const int step = wi * stepsPerWord + s;
        const int s4 = step % 4;
        const int k0 = blk * kb + (step / 4) * kSubK;  // start of this step's 64-wide sub-block
        if (s4 == 0) {
          // Groups advance one at a time along K (a group spans >= one 64-wide sub-block).
          if (k0 >= nextGroupK) {
            flushGroup();
            zz = zzNext;
            group++;
            scale = scaleOf(group);
            zzNext = zeroOf(group + 1);
            nextGroupK = group + 1 < a.groups ? nextGroupK + a.groupSize : INT_MAX;
          }
#pragma unroll
          for (int mt = 0; mt < MT; mt++) {
            loadA(aRow[mt][0], k0, xa[mt][0]);
            loadA(aRow[mt][1], k0, xa[mt][1]);
          }
        }
        const uint32_t h0 = lop3AndOr(words[wi] >> (F * 2 * s), mask, kMagic1024);
        const uint32_t h1 = lop3AndOr(words[wi] >> (F * (2 * s + 1)), mask, kMagic1024);
        const __half2 d0 = __hsub2(*reinterpret_cast<const __half2*>(&h0), *reinterpret_cast<const __half2*>(&zz));
        const __half2 d1 = __hsub2(*reinterpret_cast<const __half2*>(&h1), *reinterpret_cast<const __half2*>(&zz));
        const uint32_t b0 = *reinterpret_cast<const uint32_t*>(&d0);
        const uint32_t b1 = *reinterpret_cast<const uint32_t*>(&d1);
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
          mmaF16(cg[mt], xa[mt][0][2 * s4], xa[mt][1][2 * s4], xa[mt][0][2 * s4 + 1], xa[mt][1][2 * s4 + 1], b0, b1);
        }
      }
    }
  };

  // Weights stream in batches of kBatch lane loads issued together, so a warp keeps
  // kBatch x 512 B in flight (one load at a time left the decode case latency-bound).
  constexpr int kBatch = MT == 1 ? 4 : 2;
  const uint4* wp = a.tile + (static_cast<size_t>(nTile) * a.kBlocks + blockBegin) * kLanes + lane;
#pragma unroll 1
  for (int blk = blockBegin; blk < blockEnd; blk += kBatch, wp += kBatch * kLanes) {
    uint4 wv[kBatch];
#pragma unroll
    for (int u = 0; u < kBatch; u++) wv[u] = blk + u < blockEnd ? ldStream(wp + u * kLanes) : make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int u = 0; u < kBatch; u++)
      if (blk + u < blockEnd) computeBlock(blk + u, wv[u]);
  }
  flushGroup();

#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int e = 0; e < 4; e++) {
      const int token = tokenBase + mt * 16 + g + 8 * (e >> 1);
      const int col = colBase + 2 * t + (e & 1);
      if (token >= a.m || col >= a.n) continue;
      if (a.partial) {
        a.partial[(static_cast<size_t>(blockIdx.z) * a.m + token) * a.nPad + col] = acc[mt][e];
      } else {
        a.y[static_cast<size_t>(token) * a.n + col] = __float2half_rn(acc[mt][e] + (a.bias ? a.bias[col] : 0.f));
      }
    }
}

__global__ void reduceSplitsKernel(const float* __restrict__ partial, int splits, int m, int n, int nPad,
                                   const float* __restrict__ bias, __half* __restrict__ y) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(m) * n) return;
  const int col = idx % n, row = idx / n;
  float s = bias ? bias[col] : 0.f;
  for (int z = 0; z < splits; z++) s += partial[(static_cast<size_t>(z) * m + row) * nPad + col];
  y[idx] = __float2half_rn(s);
}

__global__ void padRowsKernel(const __half* __restrict__ x, int m, int k, int kp, __half* __restrict__ out) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(m) * kp) return;
  const int col = idx % kp, row = idx / kp;
  out[idx] = col < k ? x[static_cast<size_t>(row) * k + col] : __float2half(0.f);
}

__global__ void a16RepackKernel(const uint32_t* __restrict__ canon, const float* __restrict__ scales,
                                const uint8_t* __restrict__ zeros, int p, int f, int n, int k, int words,
                                int groups, int nTiles, int kBlocks, int nPad, uint4* __restrict__ tile,
                                float* __restrict__ tScales, uint8_t* __restrict__ tZeros) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  // Scales and zero constants, transposed to [G][nPad].
  if (idx < static_cast<size_t>(groups) * nPad) {
    const int col = idx % nPad, gi = idx / nPad;
    const float s = col < n ? scales[static_cast<size_t>(col) * groups + gi] : 0.f;
    tScales[idx] = s;
    tZeros[idx] = col < n ? zeros[static_cast<size_t>(col) * groups + gi] : 0;
  }
  if (idx >= static_cast<size_t>(nTiles) * kBlocks * kLanes) return;
  const int lane = idx % kLanes;
  const int blk = (idx / kLanes) % kBlocks;
  const int nTile = idx / (static_cast<size_t>(kLanes) * kBlocks);
  const int row = nTile * kTileN + lane / 4, t = lane % 4;
  auto code = [&](int kk) -> uint32_t {
    if (row >= n || kk >= k) return 0u;
    uint32_t c = 0;
    for (int j = 0; j < p; j++) c |= ((canon[(static_cast<size_t>(j) * n + row) * words + kk / 32] >> (kk % 32)) & 1u) << j;
    return c;
  };
  const int kbk = 512 / f, stepsPerWord = 8 / f, pairsPerWord = 16 / f;
  uint32_t out[4];
  for (int wi = 0; wi < 4; wi++) {
    uint32_t w = 0;
    for (int x = 0; x < pairsPerWord; x++) {
      const int step = wi * stepsPerWord + x / 2;
      const int kk = blk * kbk + (step / 4) * kSubK + 16 * t + 4 * (step % 4) + (x % 2) * 2;
      w |= code(kk) << (f * x);
      w |= code(kk + 1) << (16 + f * x);
    }
    out[wi] = w;
  }
  tile[idx] = make_uint4(out[0], out[1], out[2], out[3]);
}

template <int F>
void launchA16(int mt, dim3 grid, cudaStream_t stream, const A16Args& args) {
  switch (mt) {
    case 1: a16Kernel<F, 1><<<grid, kThreads, 0, stream>>>(args); break;
    case 2: a16Kernel<F, 2><<<grid, kThreads, 0, stream>>>(args); break;
    case 4: a16Kernel<F, 4><<<grid, kThreads, 0, stream>>>(args); break;
    default: throw AbqError("a16Kernel: no compiled variant with " + std::to_string(mt) + " m-tiles");
  }
  CUDA_CHECK_LAUNCH("a16Kernel");
}

int gridFor(size_t total) { return static_cast<int>((total + kThreads - 1) / kThreads); }

// ABQ_A16_GEMV=0: a16Kernel also for M <= 16 (A/B measurements).
bool gemvEnabled() {
  static const bool on = [] { const char* v = std::getenv("ABQ_A16_GEMV"); return !(v && v[0] == '0'); }();
  return on;
}
// 8 warps x 4 stages measured best against 4 x 4 and 4 x 8 (NOTES.md "A16 GEMV"); ABQ_A16_GEMV_STAGES=5
// takes a deeper ring (one more block in flight per warp; the static shared memory allows 5) for A/B runs.
constexpr int kGemvWarpsPerCta = 8, kGemvRingStages = 4, kGemvDeepStages = 5;
bool gemvDeepRing() {
  static const bool on = [] { const char* v = std::getenv("ABQ_A16_GEMV_STAGES"); return v && std::atoi(v) == kGemvDeepStages; }();
  return on;
}

template <int F, int NT>
void launchGemvWith(const A16GemvArgs& args, cudaStream_t stream) {
  const dim3 grid(ceilDiv(args.nTiles, 2));
  if (gemvDeepRing()) a16GemvKernel<F, kGemvDeepStages, kGemvWarpsPerCta, NT><<<grid, kGemvWarpsPerCta * 32, 0, stream>>>(args);
  else a16GemvKernel<F, kGemvRingStages, kGemvWarpsPerCta, NT><<<grid, kGemvWarpsPerCta * 32, 0, stream>>>(args);
}
template <int F>
void launchGemvF(const A16GemvArgs& args, cudaStream_t stream) {
  if (args.m <= 8) launchGemvWith<F, 1>(args, stream);
  else launchGemvWith<F, 2>(args, stream);
}

void launchGemv(const A16Problem& pr, const __half* x, int xStride, cudaStream_t stream) {
  const int f = a16FieldBits(pr.p);
  A16GemvArgs args{};
  args.tile = reinterpret_cast<const uint4*>(pr.tile);
  args.scales = pr.tScales;
  args.zeros = pr.tZeros;
  args.x = x;
  args.xStride = xStride;
  args.bias = pr.bias;
  args.y = pr.y;
  args.m = pr.m; args.n = pr.n;
  args.nTiles = ceilDiv(pr.n, kTileN);
  args.nPad = args.nTiles * kTileN;
  args.kBlocks = a16PaddedK(pr.p, pr.k) / (512 / f);
  args.groupSize = pr.groupSize >= pr.k ? pr.k : pr.groupSize;
  args.groups = ceilDiv(pr.k, args.groupSize);
  args.groupShift = (args.groupSize & (args.groupSize - 1)) == 0 ? __builtin_ctz(args.groupSize) : -1;
  switch (f) {
    case 2: launchGemvF<2>(args, stream); break;
    case 4: launchGemvF<4>(args, stream); break;
    default: launchGemvF<8>(args, stream); break;
  }
  CUDA_CHECK_LAUNCH("a16GemvKernel");
}

}  // namespace

int a16FieldBits(int p) { return p <= 2 ? 2 : p <= 4 ? 4 : 8; }
int a16PaddedK(int p, int k) { const int kb = 512 / a16FieldBits(p); return ceilDiv(k, kb) * kb; }
size_t a16TileWords(int p, int n, int k) {
  return static_cast<size_t>(ceilDiv(n, kTileN)) * (a16PaddedK(p, k) / (512 / a16FieldBits(p))) * kLanes * 4;
}
bool a16SupportsGroup(int k, int groupSize) { return groupSize >= k || groupSize % kSubK == 0; }

void a16Repack(const uint32_t* canon, const float* scales, const uint8_t* zeros, int p, int n, int k, int groupSize,
               uint32_t* tile, float* tScales, uint8_t* tZeros, cudaStream_t stream) {
  const int f = a16FieldBits(p);
  const int nTiles = ceilDiv(n, kTileN), kBlocks = a16PaddedK(p, k) / (512 / f);
  const int groups = ceilDiv(k, groupSize), nPad = nTiles * kTileN;
  const size_t total = std::max(static_cast<size_t>(nTiles) * kBlocks * kLanes, static_cast<size_t>(groups) * nPad);
  a16RepackKernel<<<gridFor(total), kThreads, 0, stream>>>(canon, scales, zeros, p, f, n, k, ceilDiv(k, 32), groups,
                                                           nTiles, kBlocks, nPad, reinterpret_cast<uint4*>(tile),
                                                           tScales, tZeros);
  CUDA_CHECK_LAUNCH("a16Repack");
}

A16Plan a16Plan(const A16Problem& pr, int smCount) {
  A16Plan plan{};
  if (pr.m <= kGemvMaxTokens && gemvEnabled()) {
    plan.gemv = true;
    plan.mTiles = 1;
    plan.splits = 1;
    plan.name = "a16-gemv-f" + std::to_string(a16FieldBits(pr.p));
    return plan;
  }
  plan.mTiles = pr.m <= 16 ? 1 : pr.m <= 32 ? 2 : 4;
  const int kBlocks = a16PaddedK(pr.p, pr.k) / (512 / a16FieldBits(pr.p));
  const int ctas = ceilDiv(pr.m, 16 * plan.mTiles) * ceilDiv(ceilDiv(pr.n, kTileN), kWarps);
  const int want = ceilDiv(kTargetCtasPerSm * smCount, ctas);
  plan.splits = std::max(1, std::min(want, kBlocks / kMinBlocksPerSplit));
  plan.name = "a16-mma-f" + std::to_string(a16FieldBits(pr.p)) + "-mt" + std::to_string(plan.mTiles) + "-s" +
              std::to_string(plan.splits);
  return plan;
}

size_t a16PartialFloats(const A16Problem& pr, const A16Plan& plan) {
  return !plan.gemv && plan.splits > 1 ? static_cast<size_t>(plan.splits) * pr.m * ceilDiv(pr.n, kTileN) * kTileN : 0;
}

void a16Gemm(const A16Problem& pr, const A16Plan& plan, cudaStream_t stream) {
  const int f = a16FieldBits(pr.p), kp = a16PaddedK(pr.p, pr.k);
  A16Args args{};
  args.tile = reinterpret_cast<const uint4*>(pr.tile);
  args.scales = pr.tScales;
  args.zeros = pr.tZeros;
  args.x = pr.x;
  args.xStride = kp;
  if (kp != pr.k) {
    padRowsKernel<<<gridFor(static_cast<size_t>(pr.m) * kp), kThreads, 0, stream>>>(pr.x, pr.m, pr.k, kp, pr.xPadded);
    CUDA_CHECK_LAUNCH("padRowsKernel");
    args.x = pr.xPadded;
  }
  if (plan.gemv) {
    launchGemv(pr, args.x, kp, stream);
    return;
  }
  args.nTiles = ceilDiv(pr.n, kTileN);
  args.nPad = args.nTiles * kTileN;
  args.kBlocks = kp / (512 / f);
  args.blocksPerSplit = ceilDiv(args.kBlocks, plan.splits);
  const int splits = ceilDiv(args.kBlocks, args.blocksPerSplit);
  args.partial = splits > 1 ? pr.partial : nullptr;
  args.y = pr.y;
  args.bias = pr.bias;
  args.m = pr.m; args.n = pr.n;
  args.groupSize = pr.groupSize >= pr.k ? pr.k : pr.groupSize;
  args.groups = ceilDiv(pr.k, args.groupSize);
  const dim3 grid(ceilDiv(pr.m, 16 * plan.mTiles), ceilDiv(args.nTiles, kWarps), splits);
  switch (f) {
    case 2: launchA16<2>(plan.mTiles, grid, stream, args); break;
    case 4: launchA16<4>(plan.mTiles, grid, stream, args); break;
    default: launchA16<8>(plan.mTiles, grid, stream, args); break;
  }
  if (splits > 1) {
    reduceSplitsKernel<<<gridFor(static_cast<size_t>(pr.m) * pr.n), kThreads, 0, stream>>>(
        pr.partial, splits, pr.m, pr.n, args.nPad, pr.bias, pr.y);
    CUDA_CHECK_LAUNCH("reduceSplitsKernel");
  }
}

}  // namespace abq

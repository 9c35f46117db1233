// Fused input preparation of a linear layer: one CTA per token row, or (few rows, the decode case) a
// thread-block cluster of up to kMaxCluster CTAs per row, each owning a contiguous slice of the row.
//
//   source  row of the f32 residual stream (o_proj input: attention output; lm_head: gathered rows)
//           | RMSNorm(row) * weight            (q/k/v and gate/up inputs, lm_head)
//           | silu(gate) * up                  (down_proj input)
//           or the previous linear's unfinished output (PendingEpilogue: its epilogue runs here, per slice)
//   target  bit planes + per-group scale/zero + per-weight-group code sums (A1..8), or f32 / fp16 rows
//
// Why clusters: at batch 1 one CTA per row ran norm -> min/max -> pack serially on one SM (14-39 us per
// call, 58 us per layer: NOTES.md Engine run 5). Spreading a row over 8 SMs divides the element work by
// 8; the row-wide reductions (the norm's sum of squares, the per-token min/max, the code sums per weight
// group) go through distributed shared memory: every CTA publishes its partial, the cluster syncs, and
// every CTA adds the partials in rank order (deterministic; the same result in every CTA).
//
// Numerics mirror the reference exactly (shared/model/norm.ts, mlp.ts, shared/numerics/act-quant.ts):
// the norm's sum of squares, 1/sqrt and the products run in f64 and round to f32 once; silu*up in f64;
// the quantizer is a chain of single correctly rounded f32 operations (__fsub_rn, __fdiv_rn, __fmul_rn,
// __float2int_rn), so the codes equal the reference's for equal f32 inputs. (The f64 sum of squares is
// summed in a tree, as before: squares of f32 values are exact in f64, so only f64 roundings differ.)
//
// Layout: a CTA's slice (whole 32-element words, and whole activation groups when the row has several)
// lives in shared memory (f32); each warp quantizes whole activation groups, then packs whole words:
// lane l holds element 32 w + l, and one ballot per plane gives word w of that plane (element k at bit
// k % 32, LSB first: shared/format/bitplanes.ts).
#include <cooperative_groups.h>

#include <cstdlib>

#include "epilogue-f32.cuh"
#include "cuda-check.cuh"
#include "pdl.h"
#include "ptx.cuh"

namespace abq::engine {
namespace {

namespace cg = cooperative_groups;

constexpr int kRowThreads = 1024;     // one CTA per row (prefill): the row's work on one SM
constexpr int kClusterThreads = 512;  // per CTA of a cluster (decode): a slice of K / kMaxCluster elements, 1-3 per thread
constexpr int kMaxCluster = 8;        // portable cluster size
constexpr int kClusterMaxRows = 64;   // rows up to which a row is spread over a cluster (decode batches)
constexpr int kMinSliceWords = 1;     // 1: small models (stories260K, the exactness check) also take the cluster path
constexpr int kMaxWarps = kRowThreads / 32;
constexpr int kMaxGroups = kPrepMaxK / 32;  // activation and sum groups are whole words or K

// Cluster helpers; compiled for sm_80 too, where the host only ever launches clusters of 1.
__device__ __forceinline__ void clusterSync() {
#if __CUDA_ARCH__ >= 900
  cg::this_cluster().sync();
#else
  __syncthreads();
#endif
}
template <typename T>
__device__ __forceinline__ T* peer(T* p, int rank) {
#if __CUDA_ARCH__ >= 900
  return cg::this_cluster().map_shared_rank(p, rank);
#else
  return p;
#endif
}

// Row-wide reductions in one barrier: each warp reduces with a shuffle tree and puts its partial in a
// shared slot; after one barrier (cluster-wide when the row spans a cluster) warp 0 reads every CTA's
// slots (lane-strided through distributed shared memory, then a shuffle tree: a fixed order, so the
// result is deterministic and the same in every CTA) and shares it through shared memory.
//
// Why this shape (NOTES.md engine E3): ncu on the decode prep showed ~1,200 instructions per warp at
// ~12 cycles each, with memory-barrier stalls first: a cluster barrier has release semantics, so each
// one waited for every global store issued before it. So the cluster path keeps all its global stores
// (the finished outputs of a pending epilogue, the zeroed accumulators, the planes, scales and sums)
// in shared memory or registers until after its last cluster barrier, and uses two barriers per
// reduction instead of four (block tree, block barrier, cluster barrier, loop over peers).
__device__ __forceinline__ void rowBarrier(int ctas) {
  if (ctas > 1) clusterSync();
  else __syncthreads();
}

template <typename T>
__device__ __forceinline__ T* slotOf(T* slots, int i, int warps, int ctas) {
  return ctas > 1 ? peer(slots + i % warps, i / warps) : slots + i;
}

__device__ double rowSumDouble(double v, double* slots, double* out, int ctas) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  if (lane == 0) slots[warp] = v;
  rowBarrier(ctas);
  if (warp == 0) {
    double acc = 0;
    for (int i = lane; i < ctas * warps; i += 32) acc += *slotOf(slots, i, warps, ctas);
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) *out = acc;
  }
  __syncthreads();
  return *out;
}

__device__ void rowMinMax(float& mn, float& mx, float* slotMn, float* slotMx, float* out, int ctas) {
  for (int o = 16; o > 0; o >>= 1) {
    mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  if (lane == 0) { slotMn[warp] = mn; slotMx[warp] = mx; }
  rowBarrier(ctas);
  if (warp == 0) {
    float a = INFINITY, b = -INFINITY;
    for (int i = lane; i < ctas * warps; i += 32) {
      a = fminf(a, *slotOf(slotMn, i, warps, ctas));
      b = fmaxf(b, *slotOf(slotMx, i, warps, ctas));
    }
    for (int o = 16; o > 0; o >>= 1) {
      a = fminf(a, __shfl_xor_sync(0xffffffffu, a, o));
      b = fmaxf(b, __shfl_xor_sync(0xffffffffu, b, o));
    }
    if (lane == 0) { out[0] = a; out[1] = b; }
  }
  __syncthreads();
  mn = out[0]; mx = out[1];
}

/** Most words of a cluster CTA's slice (the planes wait in shared memory until the last barrier). */
constexpr int kMaxSliceWords = kPrepMaxK / 32 / kMaxCluster;

// grid (ctas, rows): CTA blockIdx.x of row blockIdx.y owns words [x * sliceWords, (x + 1) * sliceWords).
// Dynamic shared memory: row[n] (the prepared values), and with a cluster and a pending epilogue the
// finished outputs a[n] (and b[n], the up half for SwiGLU) until they are stored after the last barrier.
__global__ void __launch_bounds__(kRowThreads) prepKernel(const PrepSource src, const PrepTarget dst, int ctas,
                                                          int sliceWords) {
  extern __shared__ float row[];
  __shared__ double ssSlots[kMaxWarps], ssAll;
  __shared__ float mnSlots[kMaxWarps], mxSlots[kMaxWarps], mnmxAll[2];
  __shared__ float gInv[kMaxGroups];
  __shared__ int gZero[kMaxGroups];
  __shared__ unsigned gSum[kMaxGroups];  // rank 0's copy collects the cluster's code sums
  __shared__ uint32_t planeSm[8 * kMaxSliceWords];  // cluster path: [bit][word - w0]
  pdlLaunchDependents();  // the GEMV that follows starts streaming its weights while this runs (pdl.h)
  const int rank = blockIdx.x, r = blockIdx.y, m = gridDim.y, k = dst.k;
  const int nt = blockDim.x, warps = nt / 32;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int totalWords = dst.kind == kOutPlanes ? dst.wordsPad : (k + 31) / 32;
  const int w0 = min(totalWords, rank * sliceWords), w1 = min(totalWords, w0 + sliceWords);
  const int e0 = min(k, w0 * 32), e1 = min(k, w1 * 32), n = e1 - e0;
  const bool deferStores = ctas > 1;  // global stores wait for the last cluster barrier
  float* pendA = row + sliceWords * 32;
  float* pendB = pendA + sliceWords * 32;
  // The norm weight of this thread's first element: a model weight, loaded before the wait (PDL overlap).
  const float w0Norm = src.mode == kPrepNorm && static_cast<int>(threadIdx.x) < n ? src.normW[e0 + threadIdx.x] : 0.f;
  pdlWait();  // everything below reads what earlier kernels wrote
  const int srcRow = src.rowIndex ? src.rowIndex[r] : r;
  const float* x = src.x + static_cast<size_t>(srcRow) * src.xStride + e0;
  const PendingEpilogue& pe = src.pending;
  const bool swiglu = src.mode == kPrepSwiglu;
  if (pe.kind != kPendingNone) {  // finish the previous linear's outputs for this slice (no rowIndex here)
    for (int i = threadIdx.x; i < n; i += nt) {
      const int c = e0 + i;
      const float a = pendingOutputAt(pe, r, c, !deferStores);
      const float b = swiglu ? pendingOutputAt(pe, r, c + pe.x2Col, !deferStores) : 0.f;
      if (deferStores) {
        pendA[i] = a;
        if (swiglu) pendB[i] = b;
      } else if (pe.e.y) {
        pe.e.y[static_cast<size_t>(r) * pe.e.n + c] = a;
        if (swiglu) pe.e.y[static_cast<size_t>(r) * pe.e.n + c + pe.x2Col] = b;
      }
      if (!swiglu) { row[i] = a; continue; }
      const double g = a;
      row[i] = static_cast<float>(g / (1.0 + exp(-g)) * static_cast<double>(b));
    }
  } else if (swiglu) {
    const float* u = src.x2 + static_cast<size_t>(srcRow) * src.x2Stride + e0;
    for (int i = threadIdx.x; i < n; i += nt) {
      const double g = x[i];
      row[i] = static_cast<float>(g / (1.0 + exp(-g)) * static_cast<double>(u[i]));
    }
  } else {
    for (int i = threadIdx.x; i < n; i += nt) row[i] = x[i];
  }
  // Stores that waited for the last cluster barrier (the finished outputs, the zeroed accumulators).
  auto pendingStores = [&]() {
    if (!deferStores || pe.kind == kPendingNone) return;
    for (int i = threadIdx.x; i < n; i += nt) {
      const int c = e0 + i;
      if (pe.e.y) {
        pe.e.y[static_cast<size_t>(r) * pe.e.n + c] = pendA[i];
        if (swiglu) pe.e.y[static_cast<size_t>(r) * pe.e.n + c + pe.x2Col] = pendB[i];
      }
      if (pe.kind == kPendingBtc) {
        zeroPendingAcc(pe, r, c);
        if (swiglu) zeroPendingAcc(pe, r, c + pe.x2Col);
      }
    }
  };
  // Each thread reads back only the elements it wrote until the first barrier below.
  if (src.mode == kPrepNorm) {
    double ss = 0;
    for (int i = threadIdx.x; i < n; i += nt) ss += static_cast<double>(row[i]) * row[i];
    ss = rowSumDouble(ss, ssSlots, &ssAll, ctas);
    const double inv = 1.0 / sqrt(ss / k + src.eps);
    for (int i = threadIdx.x; i < n; i += nt) {
      const float wn = i == static_cast<int>(threadIdx.x) ? w0Norm : src.normW[e0 + i];
      row[i] = static_cast<float>(static_cast<double>(row[i]) * inv * static_cast<double>(wn));
    }
  }
  if (dst.kind == kOutF32 || dst.kind == kOutF16) {
    if (ctas > 1) clusterSync();  // peers may still read this CTA's slots
    for (int i = threadIdx.x; i < n; i += nt) {
      const size_t o = static_cast<size_t>(r) * k + e0 + i;
      if (dst.kind == kOutF32) dst.f32[o] = row[i];
      else dst.f16[o] = __float2half_rn(row[i]);
    }
    pendingStores();
    return;
  }
  // Per activation group: range, scale, reciprocal and zero point (act-quant.ts actQuantParams).
  const int qmax = (1 << dst.bits) - 1;
  const int aGroups = (k + dst.actGroup - 1) / dst.actGroup;
  const int sGroups = (k + dst.sumGroup - 1) / dst.sumGroup;
  // Scale, reciprocal and zero point of a group from its range (the reference's chain, bit for bit).
  auto params = [&](float mn, float mx, float& scale, float& inv, int& zero) {
    const float lo = fminf(0.f, mn), hi = fmaxf(0.f, mx);
    scale = __fdiv_rn(__fsub_rn(hi, lo), static_cast<float>(qmax));
    if (!(scale > 0.f) || isinf(scale)) scale = 1.f;
    inv = __fdiv_rn(1.f, scale);
    zero = min(qmax, max(0, __float2int_rn(__fmul_rn(-lo, inv))));
  };
  for (int g = threadIdx.x; g < sGroups; g += nt) gSum[g] = 0;  // zeroed before the barrier below
  // Per token, every thread derives the parameters itself (no barrier to share them).
  float tokScale = 1.f, tokInv = 0.f;
  int tokZero = 0;
  if (aGroups == 1) {  // per token: the whole row (cluster) reduces min/max
    float mn = INFINITY, mx = -INFINITY;
    for (int i = threadIdx.x; i < n; i += nt) { mn = fminf(mn, row[i]); mx = fmaxf(mx, row[i]); }
    rowMinMax(mn, mx, mnSlots, mxSlots, mnmxAll, ctas);  // its barrier also orders gSum's zeroing before peers' adds
    params(mn, mx, tokScale, tokInv, tokZero);
  } else {  // one warp per group; the host keeps groups inside slices
    const int g0 = e0 / dst.actGroup, g1 = (e1 + dst.actGroup - 1) / dst.actGroup;
    for (int g = g0 + warp; g < g1; g += warps) {
      const int k0 = g * dst.actGroup - e0, k1 = min(e1, (g + 1) * dst.actGroup) - e0;
      float mn = INFINITY, mx = -INFINITY;
      for (int i = k0 + lane; i < k1; i += 32) { mn = fminf(mn, row[i]); mx = fmaxf(mx, row[i]); }
      for (int o = 16; o > 0; o >>= 1) {
        mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
      }
      if (lane == 0) {
        float scale;
        params(mn, mx, scale, gInv[g], gZero[g]);
        dst.scales[static_cast<size_t>(r) * aGroups + g] = scale;
        dst.zeros[static_cast<size_t>(r) * aGroups + g] = static_cast<uint8_t>(gZero[g]);
      }
    }
    rowBarrier(ctas);  // params visible; rank 0's gSum zeroed before any peer adds into it
  }
  unsigned* sums0 = ctas > 1 ? peer(gSum, 0) : gSum;
  for (int w = w0 + warp; w < w1; w += warps) {
    const int i = w * 32 + lane;
    int code = 0;
    if (i < k) {
      const int g = aGroups == 1 ? 0 : i / dst.actGroup;
      const float inv = aGroups == 1 ? tokInv : gInv[g];
      const int zero = aGroups == 1 ? tokZero : gZero[g];
      code = min(qmax, max(0, __float2int_rn(__fmul_rn(row[i - e0], inv)) + zero));
    }
    for (int b = 0; b < dst.bits; b++) {
      const unsigned word = __ballot_sync(0xffffffffu, (code >> b) & 1);
      if (lane != 0) continue;
      if (deferStores) planeSm[b * kMaxSliceWords + (w - w0)] = word;
      else dst.planes[(static_cast<size_t>(b) * m + r) * dst.wordsPad + w] = word;
    }
    const unsigned s = __reduce_add_sync(0xffffffffu, static_cast<unsigned>(code));
    if (lane == 0 && w * 32 < k) atomicAdd(&sums0[(w * 32) / dst.sumGroup], s);
  }
  rowBarrier(ctas);  // every CTA's adds are in rank 0's gSum; nothing reads a peer after this
  if (deferStores) {
    for (int idx = threadIdx.x; idx < dst.bits * (w1 - w0); idx += nt) {
      const int b = idx / (w1 - w0), w = w0 + idx % (w1 - w0);
      dst.planes[(static_cast<size_t>(b) * m + r) * dst.wordsPad + w] = planeSm[b * kMaxSliceWords + (w - w0)];
    }
    pendingStores();
  }
  if (aGroups == 1 && rank == 0 && threadIdx.x == 0) {
    dst.scales[r] = tokScale;
    dst.zeros[r] = static_cast<uint8_t>(tokZero);
  }
  if (rank != 0) return;
  for (int g = threadIdx.x; g < sGroups; g += nt) dst.sums[static_cast<size_t>(r) * sGroups + g] = gSum[g];
}

/** CTAs per row and words per CTA: a cluster for few rows on sm_90, one CTA per row otherwise. */
void planSlices(const PrepTarget& dst, int m, bool clustersOk, int& ctas, int& sliceWords) {
  const int words = dst.kind == kOutPlanes ? dst.wordsPad : (dst.k + 31) / 32;
  ctas = 1; sliceWords = words;
  const bool grouped = dst.kind == kOutPlanes && dst.actGroup < dst.k;
  if (!clustersOk || m > kClusterMaxRows || (grouped && dst.actGroup % 32 != 0)) return;
  const int unit = grouped ? dst.actGroup / 32 : 1;  // slices hold whole activation groups
  for (int c = kMaxCluster; c > 1; c /= 2) {
    const int slice = ((words + c - 1) / c + unit - 1) / unit * unit;
    if (slice < kMinSliceWords || slice > kMaxSliceWords || (c - 1) * slice >= words) continue;  // every CTA must own words
    ctas = c; sliceWords = slice;
    return;
  }
}

}  // namespace

void prepActivations(const PrepSource& src, const PrepTarget& dst, int m, cudaStream_t stream) {
  if (m < 1) return;
  if (dst.k > kPrepMaxK) throw AbqError("prepActivations: K=" + std::to_string(dst.k) + " exceeds " + std::to_string(kPrepMaxK));
  static int clusters = -1;  // once per process: cluster support, and allow the whole kPrepMaxK row
  if (clusters < 0) {
    int dev = 0, major = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    CUDA_CHECK(cudaFuncSetAttribute(prepKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kPrepMaxK * sizeof(float)));
    const char* env = std::getenv("ABQ_ENGINE_PREP_CLUSTER");  // "0": one CTA per row always (diagnosis)
    clusters = major >= 9 && !(env && env[0] == '0') ? 1 : 0;
  }
  int ctas = 1, sliceWords = 0;
  planSlices(dst, m, clusters == 1, ctas, sliceWords);
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(ctas, m);
  cfg.blockDim = dim3(ctas > 1 ? kClusterThreads : kRowThreads);
  // row[], plus the deferred outputs of a pending epilogue on the cluster path (a, and b for SwiGLU).
  const int rowArrays = ctas > 1 && src.pending.kind != kPendingNone ? (src.mode == kPrepSwiglu ? 3 : 2) : 1;
  cfg.dynamicSmemBytes = static_cast<size_t>(rowArrays) * sliceWords * 32 * sizeof(float);
  cfg.stream = stream;
  cudaLaunchAttribute attr[2];
  int numAttrs = 0;
  if (ctas > 1) {
    attr[numAttrs].id = cudaLaunchAttributeClusterDimension;
    attr[numAttrs].val.clusterDim.x = ctas; attr[numAttrs].val.clusterDim.y = 1; attr[numAttrs].val.clusterDim.z = 1;
    numAttrs++;
  }
  if (pdlEnabled()) {
    attr[numAttrs].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[numAttrs].val.programmaticStreamSerializationAllowed = 1;
    numAttrs++;
  }
  cfg.attrs = attr;
  cfg.numAttrs = numAttrs;
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, prepKernel, src, dst, ctas, sliceWords));
  CUDA_CHECK_LAUNCH("prepActivations");
}

}  // namespace abq::engine

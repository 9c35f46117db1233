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

// Reductions: a shuffle tree per warp, then warp 0 reduces the warp partials with another shuffle tree
// (a fixed order: deterministic, and O(log) on the critical path; a loop over the warps in every thread
// was a large share of the prep's ~2,000 instructions per warp, NOTES.md engine E3), then across the
// cluster lane c of warp 0 reads CTA c's partial through distributed shared memory (one round trip).

/** Block-wide sum (every thread gets it); red holds kMaxWarps + 1 doubles. */
__device__ double blockSumDouble(double v, double* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double s = lane < warps ? red[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) red[kMaxWarps] = s;
  }
  __syncthreads();
  return red[kMaxWarps];
}

/** Block-wide min and max (every thread gets them); red arrays hold kMaxWarps + 1 floats. */
__device__ void blockMinMax(float& mn, float& mx, float* redMn, float* redMx) {
  for (int o = 16; o > 0; o >>= 1) {
    mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  if (lane == 0) { redMn[warp] = mn; redMx[warp] = mx; }
  __syncthreads();
  if (warp == 0) {
    float a = lane < warps ? redMn[lane] : INFINITY, b = lane < warps ? redMx[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) {
      a = fminf(a, __shfl_xor_sync(0xffffffffu, a, o));
      b = fmaxf(b, __shfl_xor_sync(0xffffffffu, b, o));
    }
    if (lane == 0) { redMn[kMaxWarps] = a; redMx[kMaxWarps] = b; }
  }
  __syncthreads();
  mn = redMn[kMaxWarps]; mx = redMx[kMaxWarps];
}

/** Sum of the CTAs' `mine` over the cluster (after clusterSync), read by lane c of warp 0; every thread gets it. */
__device__ double clusterSumDouble(double* mine, int ctas, double* bcast) {
  if (threadIdx.x < 32) {
    double s = static_cast<int>(threadIdx.x) < ctas ? *peer(mine, threadIdx.x) : 0.0;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (threadIdx.x == 0) *bcast = s;
  }
  __syncthreads();
  return *bcast;
}

__device__ void clusterMinMax(float* mineMn, float* mineMx, int ctas, float& mn, float& mx, float* bcast) {
  if (threadIdx.x < 32) {
    const bool has = static_cast<int>(threadIdx.x) < ctas;
    float a = has ? *peer(mineMn, threadIdx.x) : INFINITY, b = has ? *peer(mineMx, threadIdx.x) : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) {
      a = fminf(a, __shfl_xor_sync(0xffffffffu, a, o));
      b = fmaxf(b, __shfl_xor_sync(0xffffffffu, b, o));
    }
    if (threadIdx.x == 0) { bcast[0] = a; bcast[1] = b; }
  }
  __syncthreads();
  mn = bcast[0]; mx = bcast[1];
}

// grid (ctas, rows): CTA blockIdx.x of row blockIdx.y owns words [x * sliceWords, (x + 1) * sliceWords).
__global__ void __launch_bounds__(kRowThreads) prepKernel(const PrepSource src, const PrepTarget dst, int ctas,
                                                          int sliceWords) {
  extern __shared__ float row[];  // [sliceWords * 32]: element e0 + i at row[i]
  __shared__ double red[kMaxWarps + 1];
  __shared__ float redMn[kMaxWarps + 1], redMx[kMaxWarps + 1];
  __shared__ double partSs, ssAll;   // this CTA's partial sum of squares (read by the cluster), the row's
  __shared__ float partMn, partMx;   // this CTA's partial min / max (per-token quantization)
  __shared__ float mnmxAll[2];
  __shared__ float gInv[kMaxGroups];
  __shared__ int gZero[kMaxGroups];
  __shared__ unsigned gSum[kMaxGroups];  // rank 0's copy collects the cluster's code sums
  pdlLaunchDependents();  // the GEMV that follows starts streaming its weights while this runs (pdl.h)
  const int rank = blockIdx.x, r = blockIdx.y, m = gridDim.y, k = dst.k;
  const int nt = blockDim.x, warps = nt / 32;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int totalWords = dst.kind == kOutPlanes ? dst.wordsPad : (k + 31) / 32;
  const int w0 = min(totalWords, rank * sliceWords), w1 = min(totalWords, w0 + sliceWords);
  const int e0 = min(k, w0 * 32), e1 = min(k, w1 * 32), n = e1 - e0;
  // The norm weight of this thread's first element: a model weight, loaded before the wait (PDL overlap).
  const float w0Norm = src.mode == kPrepNorm && static_cast<int>(threadIdx.x) < n ? src.normW[e0 + threadIdx.x] : 0.f;
  pdlWait();              // everything below reads what earlier kernels wrote
  const int srcRow = src.rowIndex ? src.rowIndex[r] : r;
  const float* x = src.x + static_cast<size_t>(srcRow) * src.xStride + e0;
  const PendingEpilogue& pe = src.pending;
  if (pe.kind != kPendingNone) {  // finish the previous linear's outputs for this slice (no rowIndex here)
    for (int i = threadIdx.x; i < n; i += nt) {
      const int c = e0 + i;
      const float a = pendingOutputAt(pe, r, c);
      if (pe.e.y) pe.e.y[static_cast<size_t>(r) * pe.e.n + c] = a;
      if (src.mode != kPrepSwiglu) { row[i] = a; continue; }
      const float b = pendingOutputAt(pe, r, c + pe.x2Col);
      if (pe.e.y) pe.e.y[static_cast<size_t>(r) * pe.e.n + c + pe.x2Col] = b;
      const double g = a;
      row[i] = static_cast<float>(g / (1.0 + exp(-g)) * static_cast<double>(b));
    }
  } else if (src.mode == kPrepSwiglu) {
    const float* u = src.x2 + static_cast<size_t>(srcRow) * src.x2Stride + e0;
    for (int i = threadIdx.x; i < n; i += nt) {
      const double g = x[i];
      row[i] = static_cast<float>(g / (1.0 + exp(-g)) * static_cast<double>(u[i]));
    }
  } else {
    for (int i = threadIdx.x; i < n; i += nt) row[i] = x[i];
  }
  if (src.mode == kPrepNorm) {
    double ss = 0;
    for (int i = threadIdx.x; i < n; i += nt) ss += static_cast<double>(row[i]) * row[i];
    ss = blockSumDouble(ss, red);
    if (ctas > 1) {
      if (threadIdx.x == 0) partSs = ss;
      clusterSync();
      ss = clusterSumDouble(&partSs, ctas, &ssAll);
    }
    const double inv = 1.0 / sqrt(ss / k + src.eps);
    for (int i = threadIdx.x; i < n; i += nt) {
      const float wn = i == static_cast<int>(threadIdx.x) ? w0Norm : src.normW[e0 + i];
      row[i] = static_cast<float>(static_cast<double>(row[i]) * inv * static_cast<double>(wn));
    }
  }
  __syncthreads();
  if (dst.kind == kOutF32 || dst.kind == kOutF16) {
    for (int i = threadIdx.x; i < n; i += nt) {
      const size_t o = static_cast<size_t>(r) * k + e0 + i;
      if (dst.kind == kOutF32) dst.f32[o] = row[i];
      else dst.f16[o] = __float2half_rn(row[i]);
    }
    if (ctas > 1 && src.mode == kPrepNorm) clusterSync();  // peers may still read partSs
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
  auto setParams = [&](int g, float mn, float mx) {
    float scale, inv;
    int zero;
    params(mn, mx, scale, inv, zero);
    gInv[g] = inv; gZero[g] = zero;
    if (rank == 0 || aGroups > 1) {
      dst.scales[static_cast<size_t>(r) * aGroups + g] = scale;
      dst.zeros[static_cast<size_t>(r) * aGroups + g] = static_cast<uint8_t>(zero);
    }
  };
  // Per token, every thread derives the parameters itself (no barrier to share them).
  float tokInv = 0.f;
  int tokZero = 0;
  for (int g = threadIdx.x; g < sGroups; g += nt) gSum[g] = 0;  // zeroed before the cluster sync below
  if (aGroups == 1) {  // per token: the whole row (cluster) reduces min/max
    float mn = INFINITY, mx = -INFINITY;
    for (int i = threadIdx.x; i < n; i += nt) { mn = fminf(mn, row[i]); mx = fmaxf(mx, row[i]); }
    blockMinMax(mn, mx, redMn, redMx);
    if (ctas > 1) {
      if (threadIdx.x == 0) { partMn = mn; partMx = mx; }
      clusterSync();  // also: rank 0's gSum is zeroed before any peer adds into it
      clusterMinMax(&partMn, &partMx, ctas, mn, mx, mnmxAll);
    }
    float scale;
    params(mn, mx, scale, tokInv, tokZero);
    if (rank == 0 && threadIdx.x == 0) {
      dst.scales[r] = scale;
      dst.zeros[r] = static_cast<uint8_t>(tokZero);
    }
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
      if (lane == 0) setParams(g, mn, mx);
    }
    clusterSync();  // params visible; rank 0's gSum zeroed before any peer adds into it
  }
  if (aGroups == 1 && ctas == 1) __syncthreads();  // gSum zeroed before the adds below
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
      if (lane == 0) dst.planes[(static_cast<size_t>(b) * m + r) * dst.wordsPad + w] = word;
    }
    const unsigned s = __reduce_add_sync(0xffffffffu, static_cast<unsigned>(code));
    if (lane == 0 && w * 32 < k) atomicAdd(&sums0[(w * 32) / dst.sumGroup], s);
  }
  clusterSync();  // every CTA's adds are in rank 0's gSum
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
    if (slice < kMinSliceWords || (c - 1) * slice >= words) continue;  // every CTA must own words
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
  cfg.dynamicSmemBytes = static_cast<size_t>(sliceWords) * 32 * sizeof(float);
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

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

namespace abq::engine {
namespace {

namespace cg = cooperative_groups;

constexpr int kRowThreads = 1024;     // one CTA per row (prefill): the row's work on one SM
constexpr int kClusterThreads = 256;  // per CTA of a cluster (decode): a slice of K / kMaxCluster elements
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

/** Block-wide sum (every thread gets it); red holds kMaxWarps + 1 doubles. */
__device__ double blockSumDouble(double v, double* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0;
    for (int w = 0; w < warps; w++) s += red[w];
    red[kMaxWarps] = s;
  }
  __syncthreads();
  return red[kMaxWarps];
}

/** Block-wide min and max (every thread gets them). */
__device__ void blockMinMax(float& mn, float& mx, float* redMn, float* redMx) {
  for (int o = 16; o > 0; o >>= 1) {
    mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, o));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  if (lane == 0) { redMn[warp] = mn; redMx[warp] = mx; }
  __syncthreads();
  mn = redMn[0]; mx = redMx[0];
  for (int w = 1; w < warps; w++) { mn = fminf(mn, redMn[w]); mx = fmaxf(mx, redMx[w]); }
  __syncthreads();
}

// grid (ctas, rows): CTA blockIdx.x of row blockIdx.y owns words [x * sliceWords, (x + 1) * sliceWords).
__global__ void __launch_bounds__(kRowThreads) prepKernel(const PrepSource src, const PrepTarget dst, int ctas,
                                                          int sliceWords) {
  extern __shared__ float row[];  // [sliceWords * 32]: element e0 + i at row[i]
  __shared__ double red[kMaxWarps + 1];
  __shared__ float redMn[kMaxWarps], redMx[kMaxWarps];
  __shared__ double partSs;          // this CTA's partial sum of squares (read by the cluster)
  __shared__ float partMn, partMx;   // this CTA's partial min / max (per-token quantization)
  __shared__ float gInv[kMaxGroups];
  __shared__ int gZero[kMaxGroups];
  __shared__ unsigned gSum[kMaxGroups];  // rank 0's copy collects the cluster's code sums
  const int rank = blockIdx.x, r = blockIdx.y, m = gridDim.y, k = dst.k;
  const int nt = blockDim.x, warps = nt / 32;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int totalWords = dst.kind == kOutPlanes ? dst.wordsPad : (k + 31) / 32;
  const int w0 = min(totalWords, rank * sliceWords), w1 = min(totalWords, w0 + sliceWords);
  const int e0 = min(k, w0 * 32), e1 = min(k, w1 * 32), n = e1 - e0;
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
      ss = 0;
      for (int c = 0; c < ctas; c++) ss += *peer(&partSs, c);
    }
    const double inv = 1.0 / sqrt(ss / k + src.eps);
    for (int i = threadIdx.x; i < n; i += nt)
      row[i] = static_cast<float>(static_cast<double>(row[i]) * inv * static_cast<double>(src.normW[e0 + i]));
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
  auto setParams = [&](int g, float mn, float mx) {
    const float lo = fminf(0.f, mn), hi = fmaxf(0.f, mx);
    float scale = __fdiv_rn(__fsub_rn(hi, lo), static_cast<float>(qmax));
    if (!(scale > 0.f) || isinf(scale)) scale = 1.f;
    const float inv = __fdiv_rn(1.f, scale);
    const int zero = min(qmax, max(0, __float2int_rn(__fmul_rn(-lo, inv))));
    gInv[g] = inv; gZero[g] = zero;
    if (rank == 0 || aGroups > 1) {
      dst.scales[static_cast<size_t>(r) * aGroups + g] = scale;
      dst.zeros[static_cast<size_t>(r) * aGroups + g] = static_cast<uint8_t>(zero);
    }
  };
  if (aGroups == 1) {  // per token: the whole row (cluster) reduces min/max
    float mn = INFINITY, mx = -INFINITY;
    for (int i = threadIdx.x; i < n; i += nt) { mn = fminf(mn, row[i]); mx = fmaxf(mx, row[i]); }
    blockMinMax(mn, mx, redMn, redMx);
    if (ctas > 1) {
      if (threadIdx.x == 0) { partMn = mn; partMx = mx; }
      clusterSync();
      mn = INFINITY; mx = -INFINITY;
      for (int c = 0; c < ctas; c++) { mn = fminf(mn, *peer(&partMn, c)); mx = fmaxf(mx, *peer(&partMx, c)); }
    }
    if (threadIdx.x == 0) setParams(0, mn, mx);
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
  }
  for (int g = threadIdx.x; g < sGroups; g += nt) gSum[g] = 0;
  clusterSync();  // params visible; rank 0's gSum zeroed before any peer adds into it
  unsigned* sums0 = ctas > 1 ? peer(gSum, 0) : gSum;
  for (int w = w0 + warp; w < w1; w += warps) {
    const int i = w * 32 + lane;
    int code = 0;
    if (i < k) {
      const int g = i / dst.actGroup;
      code = min(qmax, max(0, __float2int_rn(__fmul_rn(row[i - e0], gInv[g])) + gZero[g]));
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
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeClusterDimension;
  attr[0].val.clusterDim.x = ctas; attr[0].val.clusterDim.y = 1; attr[0].val.clusterDim.z = 1;
  cfg.attrs = attr;
  cfg.numAttrs = ctas > 1 ? 1 : 0;
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, prepKernel, src, dst, ctas, sliceWords));
  CUDA_CHECK_LAUNCH("prepActivations");
}

}  // namespace abq::engine

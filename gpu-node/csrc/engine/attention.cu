// Causal grouped-query attention over the paged KV cache, one CTA of 4 warps per (token, query head); the same
// kernel serves prefill (many tokens of one sequence) and decode (one token of many sequences): token t
// at position p attends to positions 0..p of its own sequence through the block table.
//
// The CTA's warps take alternate chunks of 32 positions and merge their softmax states at the end
// (flash-decoding inside the CTA: decode at batch 1 still keeps 4 warps per head busy).
// Per chunk (online softmax, flash style): lane l scores position j0 + l against the
// whole query (q in shared memory, the key row read by that lane), the warp takes max and sum, then
// the 32 value rows are accumulated with lanes along the head dimension (lane d owns dims d, d + 32, ..).
// Query head h reads KV head h / (heads / kvHeads). With the fp16 cache the softmax and sums run in f32;
// with the f32 cache (kvF32, the exactness mode) in f64 like the reference, so outputs match it to f32 rounding.
//
// Decode steps (few tokens) take a second kernel that splits each (token, head) over CTAs of 128
// positions (flash-decoding): at batch 1 the one-CTA-per-head kernel ran 32 CTAs whose warps walked
// their chunks with one dependent round trip to memory after another (~30 us per layer at context 130).
// A split CTA stages its positions' key and value rows in shared memory with cp.async (all loads in
// flight at once), scores and accumulates from there, and writes a partial softmax state; the last CTA
// of a (token, head) to finish merges the partials (threadFenceReduction pattern, no second launch).
#include "ops.cuh"
#include "cuda-check.cuh"
#include "ptx.cuh"

#include <cstdlib>

namespace abq::engine {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxHeadDim = 128;
constexpr int kDimsPerLane = kMaxHeadDim / 32;
constexpr int kValueBatch = 8;  // value rows loaded together

template <typename KV> __device__ __forceinline__ float ld(const KV* p) { return static_cast<float>(p[0]); }
template <> __device__ __forceinline__ float ld<__half>(const __half* p) { return __half2float(p[0]); }

/** q . k over one key row read by this lane alone: 16-byte loads where the head width allows. */
template <typename Acc>
__device__ __forceinline__ Acc dotRow(const float* qs, const __half* kr, int headDim) {
  Acc dot = 0;
  if (headDim % 8 == 0) {
    for (int d = 0; d < headDim; d += 8) {
      const uint4 raw = *reinterpret_cast<const uint4*>(kr + d);
      const __half2* h2 = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const float2 f = __half22float2(h2[j]);
        dot += static_cast<Acc>(qs[d + 2 * j]) * f.x + static_cast<Acc>(qs[d + 2 * j + 1]) * f.y;
      }
    }
    return dot;
  }
  for (int d = 0; d < headDim; d++) dot += static_cast<Acc>(qs[d]) * __half2float(kr[d]);
  return dot;
}

template <typename Acc>
__device__ __forceinline__ Acc dotRow(const float* qs, const float* kr, int headDim) {
  Acc dot = 0;
  if (headDim % 4 == 0) {
    for (int d = 0; d < headDim; d += 4) {
      const float4 k4 = *reinterpret_cast<const float4*>(kr + d);
      dot += static_cast<Acc>(qs[d]) * k4.x + static_cast<Acc>(qs[d + 1]) * k4.y + static_cast<Acc>(qs[d + 2]) * k4.z +
             static_cast<Acc>(qs[d + 3]) * k4.w;
    }
    return dot;
  }
  for (int d = 0; d < headDim; d++) dot += static_cast<Acc>(qs[d]) * kr[d];
  return dot;
}

__device__ __forceinline__ float expAcc(float v) { return expf(v); }
__device__ __forceinline__ double expAcc(double v) { return exp(v); }

template <typename KV, typename Acc>
__global__ void __launch_bounds__(kWarps * 32) attentionKernel(const float* __restrict__ q, int t, int heads,
                                                               int kvHeads, int headDim, const TokenMeta meta,
                                                               const KV* __restrict__ kCache,
                                                               const KV* __restrict__ vCache, float* out) {
  __shared__ float qs[kMaxHeadDim];
  __shared__ Acc partM[kWarps], partL[kWarps];
  __shared__ Acc partAcc[kWarps][kMaxHeadDim];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int item = blockIdx.x;  // (token, query head)
  const int tok = item / heads, h = item % heads;
  const int kvh = h / (heads / kvHeads);
  const float* qr = q + static_cast<size_t>(item) * headDim;
  for (int d = threadIdx.x; d < headDim; d += blockDim.x) qs[d] = qr[d];
  __syncthreads();
  const int ctx = meta.positions[tok] + 1;
  const int* table = meta.tables + meta.seqOf[tok] * meta.maxBlocksPerSeq;
  const size_t rowStride = static_cast<size_t>(kvHeads) * headDim;
  const Acc scale = Acc(1) / sqrt(static_cast<Acc>(headDim));
  Acc mRun = -INFINITY, lRun = 0, acc[kDimsPerLane];
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) acc[i] = 0;
  // Warp w takes the chunks w, w + kWarps, ... (flash-decoding split inside the CTA).
  for (int j0 = warp * 32; j0 < ctx; j0 += 32 * kWarps) {
    const int j = j0 + lane;
    Acc s = -INFINITY;
    size_t rowOff = 0;
    if (j < ctx) {
      rowOff = (static_cast<size_t>(table[j / meta.blockSize]) * meta.blockSize + j % meta.blockSize) * rowStride +
               static_cast<size_t>(kvh) * headDim;
      s = dotRow<Acc>(qs, kCache + rowOff, headDim) * scale;
    }
    Acc mChunk = s;
    for (int o = 16; o > 0; o >>= 1) mChunk = max(mChunk, __shfl_xor_sync(0xffffffffu, mChunk, o));
    const Acc mNew = max(mRun, mChunk);
    const Acc corr = expAcc(mRun - mNew);
    const Acc p = j < ctx ? expAcc(s - mNew) : Acc(0);
    Acc pSum = p;
    for (int o = 16; o > 0; o >>= 1) pSum += __shfl_xor_sync(0xffffffffu, pSum, o);
    lRun = lRun * corr + pSum;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; i++) acc[i] *= corr;
    // Values: 8 positions per batch so their loads are in flight together (p = 0 past the context).
    for (int jb = 0; jb < 32; jb += kValueBatch) {
      Acc pj[kValueBatch];
      float vv[kValueBatch][kDimsPerLane];
#pragma unroll
      for (int u = 0; u < kValueBatch; u++) {
        pj[u] = __shfl_sync(0xffffffffu, p, jb + u);
        const size_t off = __shfl_sync(0xffffffffu, rowOff, jb + u);
#pragma unroll
        for (int i = 0; i < kDimsPerLane; i++) {
          const int d = lane + 32 * i;
          vv[u][i] = (d < headDim && j0 + jb + u < ctx) ? ld(vCache + off + d) : 0.f;
        }
      }
#pragma unroll
      for (int u = 0; u < kValueBatch; u++)
#pragma unroll
        for (int i = 0; i < kDimsPerLane; i++) acc[i] += pj[u] * static_cast<Acc>(vv[u][i]);
      if (j0 + jb + kValueBatch >= ctx) break;
    }
    mRun = mNew;
  }
  // Combine the warps' partial softmax states.
  if (lane == 0) { partM[warp] = mRun; partL[warp] = lRun; }
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) {
    const int d = lane + 32 * i;
    if (d < headDim) partAcc[warp][d] = acc[i];
  }
  __syncthreads();
  if (warp != 0) return;
  Acc m = -INFINITY;
  for (int w = 0; w < kWarps; w++) m = max(m, partM[w]);
  Acc l = 0, wScale[kWarps];
  for (int w = 0; w < kWarps; w++) {
    wScale[w] = partL[w] > 0 ? expAcc(partM[w] - m) : Acc(0);
    l += partL[w] * wScale[w];
  }
  float* o = out + static_cast<size_t>(item) * headDim;
  const Acc inv = Acc(1) / l;
#pragma unroll
  for (int i = 0; i < kDimsPerLane; i++) {
    const int d = lane + 32 * i;
    if (d >= headDim) continue;
    Acc a = 0;
    for (int w = 0; w < kWarps; w++) a += partAcc[w][d] * wScale[w];
    o[d] = static_cast<float>(a * inv);
  }
}


// ---- decode: split over positions ----
//
// Shared memory: K rows [kSplitPositions][stride] then V rows [kSplitPositions][stride], stride = row
// bytes + 16, so the 16-byte reads of lanes that score different rows at the same offset fall in
// different banks (each group of 8 lanes covers the 32 banks once). Score phase: lane = position
// (warp w takes rows 32 w ..). Value phase: lane l owns dims 2l, 2l + 1 (+ 64): conflict-free 4/8-byte
// reads along a row; each warp sums its own 32 rows, then the 4 warps add up through shared memory.
// Partial state of split s of item i: part[(i * maxSplits + s) * (headDim + 2) ..] = acc[headDim], m, l.
constexpr int kSplitWarps = 4;
constexpr int kSplitPositions = kSplitWarps * 32;

template <typename KV>
__device__ __forceinline__ void kvPair(const unsigned char* row, int d, float& a, float& b) {
  if constexpr (sizeof(KV) == 2) {
    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(row + d * 2));
    a = f.x; b = f.y;
  } else {
    const float2 f = *reinterpret_cast<const float2*>(row + d * 4);
    a = f.x; b = f.y;
  }
}

template <typename KV, typename Acc>
__global__ void __launch_bounds__(kSplitWarps * 32) attentionSplitKernel(
    const float* __restrict__ q, int heads, int kvHeads, int headDim, const TokenMeta meta, const KV* __restrict__ kCache,
    const KV* __restrict__ vCache, float* out, Acc* __restrict__ part, unsigned* counters, int maxSplits) {
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ float qs[kMaxHeadDim];
  __shared__ Acc redM[kSplitWarps], redL[kSplitWarps];
  __shared__ Acc partAcc[kSplitWarps][kMaxHeadDim];
  __shared__ bool isLast;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int item = blockIdx.x, split = blockIdx.y;
  const int tok = item / heads, h = item % heads;
  const int kvh = h / (heads / kvHeads);
  const int ctx = meta.positions[tok] + 1;
  const int nSplits = (ctx + kSplitPositions - 1) / kSplitPositions;
  if (split >= nSplits) return;
  const int j0 = split * kSplitPositions, n = min(kSplitPositions, ctx - j0);
  const int rowBytes = headDim * static_cast<int>(sizeof(KV)), stride = rowBytes + 16, chunks = rowBytes / 16;
  unsigned char* ks = smem;
  unsigned char* vs = smem + kSplitPositions * stride;
  // Row offsets first (one block-table lookup and division per row, not per 16-byte chunk), then every
  // chunk's copy is in flight at once.
  __shared__ size_t rowOff[kSplitPositions];
  const int* table = meta.tables + meta.seqOf[tok] * meta.maxBlocksPerSeq;
  const size_t rowStride = static_cast<size_t>(kvHeads) * headDim;
  if (static_cast<int>(threadIdx.x) < n) {
    const int pos = j0 + threadIdx.x;
    rowOff[threadIdx.x] = (static_cast<size_t>(table[pos / meta.blockSize]) * meta.blockSize + pos % meta.blockSize) * rowStride +
                          static_cast<size_t>(kvh) * headDim;
  }
  const float* qr = q + static_cast<size_t>(item) * headDim;
  for (int d = threadIdx.x; d < headDim; d += blockDim.x) qs[d] = qr[d];
  __syncthreads();
  const int chunkShift = __popc(chunks) == 1 ? __ffs(chunks) - 1 : -1;  // power-of-two rows: no division
  for (int c = threadIdx.x; c < n * chunks; c += blockDim.x) {
    const int r = chunkShift >= 0 ? c >> chunkShift : c / chunks, w = c - r * chunks;
    const size_t off = rowOff[r];
    cpAsync16(smemAddr(ks + r * stride + w * 16), reinterpret_cast<const unsigned char*>(kCache + off) + w * 16, 16);
    cpAsync16(smemAddr(vs + r * stride + w * 16), reinterpret_cast<const unsigned char*>(vCache + off) + w * 16, 16);
  }
  cpAsyncCommit();
  cpAsyncWait<0>();
  __syncthreads();

  // Scores: lane = position, 16-byte reads along its key row.
  const Acc scale = Acc(1) / sqrt(static_cast<Acc>(headDim));
  const int r = warp * 32 + lane;
  Acc sc = -INFINITY;
  if (r < n) {
    Acc dot = 0;
    const unsigned char* kr = ks + r * stride;
    constexpr int kPer = 16 / sizeof(KV);  // elements per 16-byte chunk
    for (int c = 0; c < chunks; c++) {
      const uint4 raw = *reinterpret_cast<const uint4*>(kr + c * 16);
      float f[kPer];
      if constexpr (sizeof(KV) == 2) {
        const __half2* h2 = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
        for (int j = 0; j < 4; j++) { const float2 v = __half22float2(h2[j]); f[2 * j] = v.x; f[2 * j + 1] = v.y; }
      } else {
        f[0] = __uint_as_float(raw.x); f[1] = __uint_as_float(raw.y); f[2] = __uint_as_float(raw.z); f[3] = __uint_as_float(raw.w);
      }
#pragma unroll
      for (int j = 0; j < kPer; j++) dot += static_cast<Acc>(qs[c * kPer + j]) * f[j];
    }
    sc = dot * scale;
  }
  Acc m = sc;
  for (int o = 16; o > 0; o >>= 1) m = max(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (lane == 0) redM[warp] = m;
  __syncthreads();
  m = redM[0];
  for (int w = 1; w < kSplitWarps; w++) m = max(m, redM[w]);
  const Acc p = r < n ? expAcc(sc - m) : Acc(0);
  Acc l = p;
  for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
  if (lane == 0) redL[warp] = l;

  // Values: this warp's 32 rows; lane owns dims 2 lane + 64 i, +1.
  Acc acc[2][2] = {{0, 0}, {0, 0}};
  const int rows = min(32, n - warp * 32);
  for (int u = 0; u < rows; u++) {
    const Acc pu = __shfl_sync(0xffffffffu, p, u);
    const unsigned char* vr = vs + (warp * 32 + u) * stride;
#pragma unroll
    for (int i = 0; i < 2; i++) {
      const int d = 2 * lane + 64 * i;
      if (d < headDim) {
        float a, b;
        kvPair<KV>(vr, d, a, b);
        acc[i][0] += pu * static_cast<Acc>(a);
        acc[i][1] += pu * static_cast<Acc>(b);
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 2; i++) {
    const int d = 2 * lane + 64 * i;
    if (d < headDim) { partAcc[warp][d] = acc[i][0]; partAcc[warp][d + 1] = acc[i][1]; }
  }
  __syncthreads();
  Acc lSum = 0;
  for (int w = 0; w < kSplitWarps; w++) lSum += redL[w];
  float* o = out + static_cast<size_t>(item) * headDim;
  if (nSplits == 1) {
    const Acc inv = Acc(1) / lSum;
    for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
      Acc a = 0;
      for (int w = 0; w < kSplitWarps; w++) a += partAcc[w][d];
      o[d] = static_cast<float>(a * inv);
    }
    return;
  }
  Acc* mine = part + (static_cast<size_t>(item) * maxSplits + split) * (headDim + 2);
  for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
    Acc a = 0;
    for (int w = 0; w < kSplitWarps; w++) a += partAcc[w][d];
    mine[d] = a;
  }
  if (threadIdx.x == 0) { mine[headDim] = m; mine[headDim + 1] = lSum; }
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) isLast = atomicAdd(counters + item, 1u) == static_cast<unsigned>(nSplits - 1);
  __syncthreads();
  if (!isLast) return;
  __threadfence();
  const Acc* all = part + static_cast<size_t>(item) * maxSplits * (headDim + 2);
  Acc mMax = -INFINITY;
  for (int s2 = 0; s2 < nSplits; s2++) mMax = max(mMax, all[s2 * (headDim + 2) + headDim]);
  Acc lTot = 0;
  for (int s2 = 0; s2 < nSplits; s2++)
    lTot += all[s2 * (headDim + 2) + headDim + 1] * expAcc(all[s2 * (headDim + 2) + headDim] - mMax);
  const Acc inv = Acc(1) / lTot;
  for (int d = threadIdx.x; d < headDim; d += blockDim.x) {
    Acc a = 0;
    for (int s2 = 0; s2 < nSplits; s2++) a += all[s2 * (headDim + 2) + d] * expAcc(all[s2 * (headDim + 2) + headDim] - mMax);
    o[d] = static_cast<float>(a * inv);
  }
  if (threadIdx.x == 0) counters[item] = 0;  // ready for the next step
}

bool splitEnabled() {
  static const bool on = [] {
    const char* env = std::getenv("ABQ_ENGINE_ATTN_SPLIT");  // "0": always the one-CTA-per-head kernel (diagnosis)
    return !(env && env[0] == '0');
  }();
  return on;
}

template <typename KV, typename Acc>
void launchSplit(const float* q, int t, int heads, int kvHeads, int headDim, const TokenMeta& meta, const KV* kCache,
                 const KV* vCache, float* out, const AttentionWorkspace& ws, cudaStream_t stream) {
  const size_t smemBytes = 2ull * kSplitPositions * (headDim * sizeof(KV) + 16);
  static size_t granted = 0;  // per instantiation: raise the dynamic shared memory limit once, to the largest asked
  if (smemBytes > granted) {
    CUDA_CHECK(cudaFuncSetAttribute(attentionSplitKernel<KV, Acc>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smemBytes)));
    granted = smemBytes;
  }
  const dim3 grid(t * heads, ws.maxSplits);
  attentionSplitKernel<KV, Acc><<<grid, kSplitWarps * 32, smemBytes, stream>>>(
      q, heads, kvHeads, headDim, meta, kCache, vCache, out, static_cast<Acc*>(ws.partials), ws.counters, ws.maxSplits);
}
}  // namespace

size_t AttentionWorkspace::partialBytes(int heads, int headDim, int contextLength) {
  const size_t splits = (contextLength + kSplitPositions - 1) / kSplitPositions;
  return static_cast<size_t>(kAttentionSplitMaxTokens) * heads * splits * (headDim + 2) * sizeof(double);
}

int AttentionWorkspace::splitsFor(int contextLength) { return (contextLength + kSplitPositions - 1) / kSplitPositions; }

void pagedAttention(const float* q, int t, int heads, int kvHeads, int headDim, const TokenMeta& meta,
                    const void* kCache, const void* vCache, bool kvF32, float* out, const AttentionWorkspace& ws,
                    cudaStream_t stream) {
  if (t < 1) return;
  if (headDim > kMaxHeadDim || headDim % 2 != 0 || heads % kvHeads != 0)
    throw AbqError("pagedAttention: head_dim " + std::to_string(headDim) + " (needs even, <= 128), heads " +
                   std::to_string(heads) + " / kv heads " + std::to_string(kvHeads));
  const int rowBytes = headDim * (kvF32 ? 4 : 2);
  if (ws.partials && t <= kAttentionSplitMaxTokens && rowBytes % 16 == 0 && splitEnabled()) {
    if (kvF32)
      launchSplit<float, double>(q, t, heads, kvHeads, headDim, meta, static_cast<const float*>(kCache),
                                 static_cast<const float*>(vCache), out, ws, stream);
    else
      launchSplit<__half, float>(q, t, heads, kvHeads, headDim, meta, static_cast<const __half*>(kCache),
                                 static_cast<const __half*>(vCache), out, ws, stream);
    CUDA_CHECK_LAUNCH("pagedAttention (split)");
    return;
  }
  const int blocks = t * heads;
  if (kvF32)
    attentionKernel<float, double><<<blocks, kWarps * 32, 0, stream>>>(q, t, heads, kvHeads, headDim, meta,
                                                               static_cast<const float*>(kCache), static_cast<const float*>(vCache), out);
  else
    attentionKernel<__half, float><<<blocks, kWarps * 32, 0, stream>>>(q, t, heads, kvHeads, headDim, meta,
                                                                static_cast<const __half*>(kCache), static_cast<const __half*>(vCache), out);
  CUDA_CHECK_LAUNCH("pagedAttention");
}

}  // namespace abq::engine

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
// Decode steps (few tokens) take a second kernel that splits each (token, head) over up to
// kSplitCtas CTAs (flash-decoding): at batch 1 the one-CTA-per-head kernel ran 32 CTAs whose warps walked
// their chunks with one dependent round trip to memory after another (~30 us per layer at context 130).
// A split CTA takes chunks of 32 positions (chunk s, s + kSplitCtas, ...), stages each chunk's key and
// value rows in shared memory with cp.async (all loads in flight at once), and works on it with all
// 128 threads (4 lanes per key for the scores, one thread per head dimension for the values), keeping an
// online softmax across its chunks; the last CTA of a (token, head) to finish merges the CTAs' partial
// states (threadFenceReduction pattern, no second launch).
#include "ops.cuh"
#include "cuda-check.cuh"
#include "pdl.h"
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
// Shared memory per chunk: K rows [32][stride] then V rows [32][stride], stride = row bytes + 16 (the
// 16-byte reads of the 8 keys a warp scores at once start in different banks).
// Scores: warp w scores positions 8 w .. 8 w + 7, lane = 4 x position + quarter; quarter q sums the
// 16-byte pieces q, q + 4, .. of the row, two xor-shuffles add the quarters.
// Values: thread d owns head dimension d (head_dim <= 128 = the CTA's threads).
// Partial state of CTA s of item i: part[(i * kSplitCtas + s) * (headDim + 2) ..] = acc[headDim], m, l.
constexpr int kSplitThreads = 128;
constexpr int kChunk = 32;  // positions per staged chunk

template <typename KV, typename Acc>
__global__ void __launch_bounds__(kSplitThreads) attentionSplitKernel(
    const float* __restrict__ q, int heads, int kvHeads, int headDim, const TokenMeta meta, const KV* __restrict__ kCache,
    const KV* __restrict__ vCache, float* out, Acc* __restrict__ part, unsigned* counters) {
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ float qs[kMaxHeadDim];
  __shared__ size_t rowOff[kChunk];
  __shared__ Acc scores[kChunk];
  __shared__ bool isLast;
  pdlLaunchDependents();  // PDL (pdl.h): the o_proj prep may launch now and waits for this kernel itself
  pdlWait();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, d = threadIdx.x;
  const int item = blockIdx.x, split = blockIdx.y;
  const int tok = item / heads, h = item % heads;
  const int kvh = h / (heads / kvHeads);
  const int ctx = meta.positions[tok] + 1;
  const int nChunks = (ctx + kChunk - 1) / kChunk;
  const int nCtas = min(nChunks, kSplitCtas);
  if (split >= nCtas) return;
  const int rowBytes = headDim * static_cast<int>(sizeof(KV)), stride = rowBytes + 16, pieces = rowBytes / 16;
  unsigned char* ks = smem;
  unsigned char* vs = smem + kChunk * stride;
  const int* table = meta.tables + meta.seqOf[tok] * meta.maxBlocksPerSeq;
  const size_t rowStride = static_cast<size_t>(kvHeads) * headDim;
  const float* qr = q + static_cast<size_t>(item) * headDim;
  if (d < headDim) qs[d] = qr[d];
  const Acc scale = Acc(1) / sqrt(static_cast<Acc>(headDim));
  const int pieceShift = __popc(pieces) == 1 ? __ffs(pieces) - 1 : -1;  // power-of-two rows: no division
  Acc mRun = -INFINITY, lRun = 0, acc = 0;
  for (int c = split; c < nChunks; c += kSplitCtas) {
    const int j0 = c * kChunk, n = min(kChunk, ctx - j0);
    if (static_cast<int>(threadIdx.x) < n) {
      const int pos = j0 + threadIdx.x;
      rowOff[threadIdx.x] = (static_cast<size_t>(table[pos / meta.blockSize]) * meta.blockSize + pos % meta.blockSize) * rowStride +
                            static_cast<size_t>(kvh) * headDim;
    }
    __syncthreads();  // rowOff ready (and the previous chunk's reads of ks/vs done)
    for (int i = threadIdx.x; i < n * pieces; i += kSplitThreads) {
      const int r = pieceShift >= 0 ? i >> pieceShift : i / pieces, w = i - r * pieces;
      const size_t off = rowOff[r];
      cpAsync16(smemAddr(ks + r * stride + w * 16), reinterpret_cast<const unsigned char*>(kCache + off) + w * 16, 16);
      cpAsync16(smemAddr(vs + r * stride + w * 16), reinterpret_cast<const unsigned char*>(vCache + off) + w * 16, 16);
    }
    cpAsyncCommit();
    cpAsyncWait<0>();
    __syncthreads();
    {  // scores
      const int p = warp * 8 + lane / 4, quarter = lane % 4;
      Acc dot = 0;
      if (p < n) {
        const unsigned char* kr = ks + p * stride;
        constexpr int kPer = 16 / sizeof(KV);
        for (int w = quarter; w < pieces; w += 4) {
          const uint4 raw = *reinterpret_cast<const uint4*>(kr + w * 16);
          float f[kPer];
          if constexpr (sizeof(KV) == 2) {
            const __half2* h2 = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
            for (int j = 0; j < 4; j++) { const float2 v = __half22float2(h2[j]); f[2 * j] = v.x; f[2 * j + 1] = v.y; }
          } else {
            f[0] = __uint_as_float(raw.x); f[1] = __uint_as_float(raw.y); f[2] = __uint_as_float(raw.z); f[3] = __uint_as_float(raw.w);
          }
#pragma unroll
          for (int j = 0; j < kPer; j++) dot += static_cast<Acc>(qs[w * kPer + j]) * f[j];
        }
      }
      dot += __shfl_xor_sync(0xffffffffu, dot, 1);
      dot += __shfl_xor_sync(0xffffffffu, dot, 2);
      if (quarter == 0 && p < kChunk) scores[p] = p < n ? dot * scale : Acc(-INFINITY);
    }
    __syncthreads();
    // Online softmax over this chunk: every warp holds the 32 probabilities (lane = position).
    const Acc sc = scores[lane];
    Acc mChunk = sc;
    for (int o = 16; o > 0; o >>= 1) mChunk = max(mChunk, __shfl_xor_sync(0xffffffffu, mChunk, o));
    const Acc mNew = max(mRun, mChunk);
    const Acc corr = expAcc(mRun - mNew);
    const Acc pr = lane < n ? expAcc(sc - mNew) : Acc(0);
    Acc lChunk = pr;
    for (int o = 16; o > 0; o >>= 1) lChunk += __shfl_xor_sync(0xffffffffu, lChunk, o);
    lRun = lRun * corr + lChunk;
    mRun = mNew;
    Acc a = 0;
    for (int j = 0; j < n; j++) {
      const Acc pj = __shfl_sync(0xffffffffu, pr, j);
      if (d < headDim) a += pj * static_cast<Acc>(ld(reinterpret_cast<const KV*>(vs + j * stride) + d));
    }
    acc = acc * corr + a;
  }
  float* o = out + static_cast<size_t>(item) * headDim;
  if (nCtas == 1) {
    if (d < headDim) o[d] = static_cast<float>(acc / lRun);
    return;
  }
  Acc* mine = part + (static_cast<size_t>(item) * kSplitCtas + split) * (headDim + 2);
  if (d < headDim) mine[d] = acc;
  if (threadIdx.x == 0) { mine[headDim] = mRun; mine[headDim + 1] = lRun; }
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) isLast = atomicAdd(counters + item, 1u) == static_cast<unsigned>(nCtas - 1);
  __syncthreads();
  if (!isLast) return;
  __threadfence();
  const Acc* all = part + static_cast<size_t>(item) * kSplitCtas * (headDim + 2);
  Acc mMax = -INFINITY;
  for (int s2 = 0; s2 < nCtas; s2++) mMax = max(mMax, all[s2 * (headDim + 2) + headDim]);
  Acc lTot = 0, aTot = 0;
  for (int s2 = 0; s2 < nCtas; s2++) {
    const Acc wgt = expAcc(all[s2 * (headDim + 2) + headDim] - mMax);
    lTot += all[s2 * (headDim + 2) + headDim + 1] * wgt;
    if (d < headDim) aTot += all[s2 * (headDim + 2) + d] * wgt;
  }
  if (d < headDim) o[d] = static_cast<float>(aTot / lTot);
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
  const size_t smemBytes = 2ull * kChunk * (headDim * sizeof(KV) + 16);  // <= 17 KB: no opt-in needed
  const dim3 grid(t * heads, kSplitCtas);
  launchPdlIf(pdlAttentionEnabled(), attentionSplitKernel<KV, Acc>, grid, dim3(kSplitThreads), smemBytes, stream, q, heads, kvHeads, headDim, meta,
            kCache, vCache, out, static_cast<Acc*>(ws.partials), ws.counters);
}

}  // namespace

size_t AttentionWorkspace::partialBytes(int heads, int headDim) {
  return static_cast<size_t>(kAttentionSplitMaxTokens) * heads * kSplitCtas * (headDim + 2) * sizeof(double);
}

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

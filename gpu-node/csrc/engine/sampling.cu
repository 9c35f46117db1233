// Next-token sampling on the GPU, one CTA per row of logits, mirroring shared/model/sampling.ts so the
// same uniform draw picks the same token as the CPU:
//   greedy (temperature 0): argmax, first index on ties;
//   else: candidates sorted by logit descending, ties by id (a bitonic sort of (logit, id) pairs in
//   global scratch, a total order, so the sequence equals the CPU's sort); cut to top-k; probs =
//   exp((logit - max) / T) in f64; top-p keeps the shortest prefix whose mass reaches topP; r = u * kept
//   mass, walked down the kept prefix. The sums run sequentially in one thread in the CPU's order.
// The log-probability is log softmax of the raw logits at the chosen token (f64 sums).
#include "ops.cuh"
#include "cuda-check.cuh"

#include <cfloat>
#include <climits>

namespace abq::engine {
namespace {

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;

int pow2AtLeast(int v) { int p = 1; while (p < v) p <<= 1; return p; }

struct Scratch { float* keys; int* ids; double* probs; };

__device__ __forceinline__ bool before(float ka, int ia, float kb, int ib) { return ka > kb || (ka == kb && ia < ib); }

__global__ void __launch_bounds__(kThreads) sampleKernel(const float* __restrict__ logits, int vocab, int npow2,
                                                          const RowSampling* __restrict__ params, Scratch sc,
                                                          int* tokens, float* logprobs) {
  __shared__ float redF[kWarps];
  __shared__ int redI[kWarps];
  __shared__ double redD[kWarps];
  __shared__ int chosen;
  __shared__ float maxLogit;
  const int r = blockIdx.x, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float* x = logits + static_cast<size_t>(r) * vocab;
  const RowSampling p = params[r];
  // Argmax with first index on ties (also the max for the log-softmax).
  float best = -INFINITY; int bestI = INT_MAX;
  for (int i = threadIdx.x; i < vocab; i += kThreads)
    if (x[i] > best || (x[i] == best && i < bestI)) { best = x[i]; bestI = i; }
  for (int o = 16; o > 0; o >>= 1) {
    const float ob = __shfl_xor_sync(0xffffffffu, best, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bestI, o);
    if (ob > best || (ob == best && oi < bestI)) { best = ob; bestI = oi; }
  }
  if (lane == 0) { redF[warp] = best; redI[warp] = bestI; }
  __syncthreads();
  if (threadIdx.x == 0) {
    float b = redF[0]; int bi = redI[0];
    for (int w = 1; w < kWarps; w++)
      if (redF[w] > b || (redF[w] == b && redI[w] < bi)) { b = redF[w]; bi = redI[w]; }
    maxLogit = b; chosen = bi;
  }
  __syncthreads();
  if (p.temperature > 0) {
    float* keys = sc.keys + static_cast<size_t>(r) * npow2;
    int* ids = sc.ids + static_cast<size_t>(r) * npow2;
    double* probs = sc.probs + static_cast<size_t>(r) * npow2;
    for (int i = threadIdx.x; i < npow2; i += kThreads) {
      keys[i] = i < vocab ? x[i] : -INFINITY;
      ids[i] = i < vocab ? i : INT_MAX;
    }
    __syncthreads();
    // Bitonic sort into "before" order.
    for (int size = 2; size <= npow2; size <<= 1) {
      for (int stride = size >> 1; stride > 0; stride >>= 1) {
        for (int i = threadIdx.x; i < npow2; i += kThreads) {
          const int j = i ^ stride;
          if (j > i) {
            const bool up = (i & size) == 0;  // this half ends in "before" order
            const float ki = keys[i], kj = keys[j];
            const int ii = ids[i], ij = ids[j];
            if (up ? before(kj, ij, ki, ii) : before(ki, ii, kj, ij)) {
              keys[i] = kj; keys[j] = ki; ids[i] = ij; ids[j] = ii;
            }
          }
        }
        __syncthreads();
      }
    }
    const int cand = p.topK > 0 && p.topK < vocab ? p.topK : vocab;
    const double mx = keys[0];
    for (int i = threadIdx.x; i < cand; i += kThreads) probs[i] = exp((static_cast<double>(keys[i]) - mx) / p.temperature);
    __syncthreads();
    if (threadIdx.x == 0) {
      double sum = 0;
      for (int i = 0; i < cand; i++) sum += probs[i];
      int keep = cand;
      if (p.topP < 1) {
        double cum = 0;
        for (int i = 0; i < cand; i++) {
          cum += probs[i] / sum;
          if (cum >= p.topP) { keep = i + 1; break; }
        }
      }
      double kept = 0;
      for (int i = 0; i < keep; i++) kept += probs[i];
      double rr = p.uniform * kept;
      int pick = ids[keep - 1];
      for (int i = 0; i < keep; i++) {
        rr -= probs[i];
        if (rr < 0) { pick = ids[i]; break; }
      }
      chosen = pick;
    }
    __syncthreads();
  }
  if (p.logprob) {
    const float mx = maxLogit;
    double s = 0;
    for (int i = threadIdx.x; i < vocab; i += kThreads) s += exp(static_cast<double>(x[i]) - mx);
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) redD[warp] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
      double total = 0;
      for (int w = 0; w < kWarps; w++) total += redD[w];
      logprobs[r] = static_cast<float>(static_cast<double>(x[chosen]) - mx - log(total));
    }
  } else if (threadIdx.x == 0) {
    logprobs[r] = NAN;
  }
  if (threadIdx.x == 0) tokens[r] = chosen;
}

}  // namespace

size_t samplingScratchBytes(int rows, int vocab) {
  return static_cast<size_t>(rows) * pow2AtLeast(vocab) * (sizeof(float) + sizeof(int) + sizeof(double));
}

void sampleRows(const float* logits, int rows, int vocab, const RowSampling* params, void* scratch, int* tokens,
                float* logprobs, cudaStream_t stream) {
  if (rows < 1) return;
  const int npow2 = pow2AtLeast(vocab);
  char* base = static_cast<char*>(scratch);
  Scratch sc{};
  sc.probs = reinterpret_cast<double*>(base);
  sc.keys = reinterpret_cast<float*>(base + static_cast<size_t>(rows) * npow2 * sizeof(double));
  sc.ids = reinterpret_cast<int*>(base + static_cast<size_t>(rows) * npow2 * (sizeof(double) + sizeof(float)));
  sampleKernel<<<rows, kThreads, 0, stream>>>(logits, vocab, npow2, params, sc, tokens, logprobs);
  CUDA_CHECK_LAUNCH("sampleRows");
}

}  // namespace abq::engine

// Host entries of the engine's own kernels (one .cu per op family). Kernels trust their inputs:
// engine.cu checks shapes before it launches anything.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cstdint>

#include "epilogue-f32-args.h"

namespace abq::engine {

// ---- epilogue-f32.cu: integer accumulators -> f32 outputs (+ residual); the arguments and the f64
// formula live beside the kernels (epilogue-f32-args.h, btc-epilogue.cuh) because the decode GEMV applies them too ----
using abq::EpiF32Args;

// A linear layer's output left unfinished so that the next layer's input preparation finishes it (few
// rows only: at decode the epilogue's own launch cost more than its work). The prep then computes the
// output columns its slice needs, writes them to e.y (the residual stream) and zeroes the accumulators.
enum PendingKind : int { kPendingNone = 0, kPendingBtc = 1, kPendingHalf = 2 };
/** Most rows for which a linear's epilogue is fused into the next prep (decode batches). */
constexpr int kFuseEpilogueMaxRows = 64;
struct PendingEpilogue {
  int kind = kPendingNone;
  EpiF32Args e{};                // kPendingBtc: everything; kPendingHalf: m, n, y, residual
  int groups = 0, actGroups = 0; // kPendingBtc: weight groups and activation groups per row
  const __half* yf16 = nullptr;  // kPendingHalf: the weight-only GEMM's fp16 output [M][N]
  int x2Col = 0;                 // kPrepSwiglu: the up half starts at this output column
};

// ---- act-prep.cu: build a linear layer's input from the f32 residual stream ----
enum PrepMode : int { kPrepRow = 0, kPrepNorm = 1, kPrepSwiglu = 2 };
enum PrepOut : int { kOutPlanes = 0, kOutF32 = 1, kOutF16 = 2 };

struct PrepSource {
  int mode;
  const float* x; int xStride;     // row source (the gate half for kPrepSwiglu)
  const float* x2; int x2Stride;   // kPrepSwiglu: the up half
  const float* normW; double eps;  // kPrepNorm
  const int* rowIndex;             // output row r reads source row rowIndex[r] (nullptr: r)
  PendingEpilogue pending{};       // kind != none: the source rows are this epilogue's (x, x2 unused; no rowIndex)
  bool fusedPrepOk = false;        // the engine's decode fusions are on: a one-token GEMV may quantize this row itself
};

struct PrepTarget {
  int kind, k;
  // kOutPlanes: the layout abq::Linear's accumulate kernels read (act-quant.cuh ActQuantOut)
  int bits, actGroup, sumGroup, wordsPad;
  uint32_t* planes; float* scales; uint8_t* zeros; uint32_t* sums;
  float* f32; __half* f16;         // kOutF32 / kOutF16: [M][K]
};

/** Largest K the one-CTA-per-row kernel holds in shared memory. */
constexpr int kPrepMaxK = 16384;
void prepActivations(const PrepSource& src, const PrepTarget& dst, int m, cudaStream_t stream);

// ---- epilogue-f32.cu: integer accumulators -> f32 outputs (+ residual) ----
void epilogueF32(const EpiF32Args& e, cudaStream_t stream);
/** y f32 = f16 x (+ residual), [M][N]. */
void halfToFloat(const __half* x, int m, int n, float* y, const float* residual, cudaStream_t stream);

// ---- dense.cu: y [M][N] = x [M][K] . W[N][K]^T (+ bias) (+ residual) ----
void denseGemm(const float* x, int m, int k, const void* w, bool wHalf, int n, const float* bias, float* y,
               const float* residual, cudaStream_t stream);
/**
 * An alternative dense implementation (the benchmark installs cuBLAS for the fp16 baseline); returns
 * false to fall back to the built-in kernel. Null by default.
 */
using DenseGemmHook = bool (*)(const float* x, int m, int k, const void* w, bool wHalf, int n, const float* bias,
                               float* y, const float* residual, cudaStream_t stream);
void setDenseGemmHook(DenseGemmHook hook);

// ---- rope-kv.cu ----
struct TokenMeta {
  const int* tokens;     // [T]
  const int* positions;  // [T]
  const int* seqOf;      // [T] sequence index in the batch
  const int* tables;     // [S][maxBlocksPerSeq]
  int maxBlocksPerSeq, blockSize;
};
void embedRows(const float* embed, const int* tokens, int t, int dim, float* hidden, cudaStream_t stream);
/**
 * RoPE on q and k, q -> qOut [T][H][D], k and v -> the paged cache of one layer. With `pending` (the fused
 * q/k/v linear's deferred epilogue) the inputs come from its accumulators and q, k, v are not read.
 */
void ropeAndStore(const float* q, int qStride, const float* k, int kStride, const float* v, int vStride, int t, int heads, int kvHeads,
                  int headDim, const float* cosT, const float* sinT, const TokenMeta& meta, void* kCache,
                  void* vCache, bool kvF32, float* qOut, cudaStream_t stream, const PendingEpilogue* pending = nullptr);

// ---- attention.cu: causal GQA attention over the paged cache (prefill and decode alike) ----
/** Steps of at most this many tokens split each (token, head) over up to kSplitCtas CTAs (decode). */
constexpr int kAttentionSplitMaxTokens = 64;
constexpr int kSplitCtas = 16;
struct AttentionWorkspace {
  void* partials = nullptr;     // partial softmax states: partialBytes(...) bytes (nullptr: never split)
  unsigned* counters = nullptr; // [kAttentionSplitMaxTokens * heads], zeroed once; each merge resets its own
  static size_t partialBytes(int heads, int headDim);
};
void pagedAttention(const float* q, int t, int heads, int kvHeads, int headDim, const TokenMeta& meta,
                    const void* kCache, const void* vCache, bool kvF32, float* out, const AttentionWorkspace& ws,
                    cudaStream_t stream);

// ---- sampling.cu ----
struct RowSampling {  // same layout on host and device
  double temperature, topP, uniform;
  int topK, logprob;
};
/** Scratch bytes sampleRows needs for `rows` rows of `vocab`. */
size_t samplingScratchBytes(int rows, int vocab);
void sampleRows(const float* logits, int rows, int vocab, const RowSampling* params, void* scratch, int* tokens,
                float* logprobs, cudaStream_t stream);

}  // namespace abq::engine

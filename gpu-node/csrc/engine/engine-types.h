// Host-side description of a model for the CUDA engine (engine.h): what the loader (the addon from
// a packed folder, or the benchmark's synthetic generator) hands over. Pointers are host memory and
// need only live while the Engine constructor runs (it uploads and repacks everything).
#pragma once
#include <cuda_fp16.h>
#include <cstdint>
#include <string>
#include <vector>

#include "linear.h"

namespace abq::engine {

struct ModelConfig {
  int dim = 0, layers = 0, heads = 0, kvHeads = 0, headDim = 0, ffn = 0, vocab = 0;
  double rmsEps = 1e-5;
  int contextLength = 0;  // longest sequence (max_position_embeddings)
};

enum class WeightKind : int {
  kPacked = 0,    // bit planes through abq::Linear (BTC for A1..8, dequant MMA for A16)
  kDenseF32 = 1,  // f32 [N][K] (unquantized or host-dequantized layers; exact sums in f64)
  kDenseF16 = 2,  // fp16 [N][K] (lm_head of large models, the fp16 baseline)
};

struct HostLinear {
  WeightKind kind = WeightKind::kPacked;
  LinearSpec spec{};                 // n, k always; the rest for kPacked
  const uint32_t* planes = nullptr;  // kPacked: u32 [p][N][ceil(K/32)]
  const float* scales = nullptr;     // kPacked: f32 [N][G]
  const uint8_t* zeros = nullptr;    // kPacked: u8 [N][G]
  const float* bias = nullptr;       // [N] or nullptr
  const float* denseF32 = nullptr;   // kDenseF32: [N][K]
  const __half* denseF16 = nullptr;  // kDenseF16: [N][K]
};

struct HostLayer {
  const float* inputNorm = nullptr;  // [dim]
  const float* postNorm = nullptr;   // [dim]
  HostLinear q, k, v, o, gate, up, down;
};

struct HostModel {
  ModelConfig cfg;
  const float* embed = nullptr;      // f32 [vocab][dim]
  const float* finalNorm = nullptr;  // [dim]
  std::vector<HostLayer> layers;
  HostLinear lmHead;
  std::vector<double> invFreq;       // RoPE inverse frequencies [headDim / 2] (the reference's, from the loader)
  std::string description;
};

struct EngineOptions {
  int blockSize = 16;           // token positions per KV block
  int numBlocks = 0;            // 0: plan from kvMemoryFraction
  double kvMemoryFraction = 0.5;  // of the device memory free after weights and workspaces
  int maxBatchTokens = 2048;    // tokens per step
  int maxSeqs = 64;             // sequences per step (and the largest CUDA graph bucket)
  int maxLogitRows = 0;         // rows of logits one step may return whole (0: maxSeqs)
  bool kvF32 = false;           // f32 KV cache instead of fp16 (exactness experiments)
  bool graphs = true;           // capture decode steps in CUDA graphs
};

struct MemoryPlan {
  size_t weightBytes = 0, kvBytes = 0, workspaceBytes = 0, deviceFree = 0, deviceTotal = 0;
};

/** One sequence of a step (BatchEngine's SeqStep, flattened). */
struct SeqIn {
  int tokenStart, tokenCount, position, tableStart, tableLen;
  bool sample, logprob;
  double temperature, topP, uniform;
  int topK;
};

struct StepIn {
  std::vector<int32_t> tokens;      // all sequences' tokens, in batch order
  std::vector<SeqIn> seqs;
  std::vector<int32_t> blockTables;  // concatenated block tables
  bool allLogits = false;           // return logits of every token (perplexity); forces no sampling
};

struct StepOut {
  std::vector<int32_t> tokens;    // one per sampled sequence, batch order
  std::vector<float> logprobs;    // same rows (NaN where not asked)
  std::vector<float> logits;      // allLogits: [T][vocab]
  bool graphed = false;
};

}  // namespace abq::engine

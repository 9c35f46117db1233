// The CUDA inference engine: the whole forward pass of a packed LLaMA-family model over a paged KV
// cache, one batched step at a time (gpu-node/engine/batch-engine.ts is the contract). GPU memory is
// planned at construction (weights, workspaces for maxBatchTokens, then KV blocks); decode-only steps
// run as CUDA graphs, one per batch-size bucket (1, 2, 4, ... maxSeqs), replayed with the step's
// tokens, positions and block tables copied into fixed device buffers.
#pragma once
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cuda-check.cuh"
#include "engine-linear.h"
#include "engine-types.h"

namespace abq::engine {

class Engine {
 public:
  Engine(const HostModel& model, const EngineOptions& opts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /** Runs one step; throws AbqError naming the bad value (the engine stays usable). */
  StepOut step(const StepIn& in);

  const ModelConfig& config() const { return cfg_; }
  const EngineOptions& options() const { return opts_; }
  const MemoryPlan& memory() const { return mem_; }
  int numBlocks() const { return numBlocks_; }
  int maxBlocksPerSeq() const { return maxBps_; }
  int maxLogitRows() const { return maxRows_; }
  /** Bytes of weights one decode step streams (quantized linears as stored, dense layers, lm_head). */
  double weightStreamBytes() const { return streamBytes_; }
  std::string description() const { return description_; }
  int graphsCaptured() const { return static_cast<int>(graphs_.size()); }
  /**
   * Per-op GPU time (ms) summed over the eager (non-graph) steps since the last call, when profiling is on
   * (events between ops: for finding where a step's time goes; graphs are off while profiling).
   */
  void setProfiling(bool on) { profiling_ = on; profMs_.clear(); }
  /**
   * Epilogue -> next prep fusion at decode (on by default). Applies to eager steps and to graphs captured
   * afterwards (the benchmark compares eager all-logits steps with it on and off: they must be identical).
   */
  void setFuseEpilogues(bool on) { fuseEpilogues_ = on; }
  bool fuseEpilogues() const { return fuseEpilogues_; }
  std::map<std::string, double> takeProfile() { auto p = profMs_; profMs_.clear(); return p; }

 private:
  struct Layer {
    float* inputNorm = nullptr; float* postNorm = nullptr;
    std::unique_ptr<EngineLinear> qkv, q, k, v, o, gateUp, gate, up, down;
  };
  struct Staging;  // host-pinned / device mirror of one step's inputs and outputs

  void forward(int t, int rows, bool sample);
  void mark(const char* op);  // profiling: an event after `op`
  void collectProfile();
  void allocStaging();
  template <typename T> T* devAlloc(size_t count);

  ModelConfig cfg_;
  EngineOptions opts_;
  cudaStream_t stream_ = nullptr;
  std::vector<void*> allocations_;
  float* embed_ = nullptr; float* finalNorm_ = nullptr; float* cos_ = nullptr; float* sin_ = nullptr;
  std::vector<Layer> layers_;
  std::unique_ptr<EngineLinear> lmHead_;
  LinearArena arena_;   // qkv, gate_up, lm_head
  LinearArena arenaB_;  // o, down: the same buffers but its own activation parameters, so a deferred
                        // epilogue (PendingEpilogue) still reads its own while the next prep writes the other's
  bool fuseEpilogues_ = true;  // ABQ_ENGINE_FUSE=0 turns the epilogue -> next prep fusion off (diagnosis)
  bool ropeFuse_ = true;       // ABQ_ENGINE_ROPE_FUSE=0: q/k/v's epilogue runs in its own launch, not in RoPE
  // Activations [maxBatchTokens][...]
  float *hidden_ = nullptr, *qkvBuf_ = nullptr, *qRot_ = nullptr, *att_ = nullptr, *guBuf_ = nullptr, *logits_ = nullptr;
  AttentionWorkspace attnWs_;  // decode attention's split partials
  void* sampleScratch_ = nullptr;
  char* kCache_ = nullptr; char* vCache_ = nullptr;
  size_t layerKvElems_ = 0;
  int numBlocks_ = 0, maxBps_ = 0, maxRows_ = 0, trashBlock_ = 0;
  // Staging: one contiguous block, copied host -> device in one call per step.
  char* hostStage_ = nullptr; char* devStage_ = nullptr; size_t stageBytes_ = 0;
  int *dTokens_, *dPositions_, *dSeqOf_, *dRowIndex_, *dTables_, *dOutTokens_;
  RowSampling* dParams_;
  float* dOutLogprobs_;
  size_t offTokens_, offPositions_, offSeqOf_, offRowIndex_, offTables_, offParams_, offOutTokens_, offOutLogprobs_, inputBytes_;
  std::map<int, cudaGraphExec_t> graphs_;
  std::map<int, bool> warmed_;
  bool profiling_ = false;
  std::vector<cudaEvent_t> eventPool_;
  std::vector<std::pair<const char*, cudaEvent_t>> marks_;
  std::map<std::string, double> profMs_;
  MemoryPlan mem_;
  double streamBytes_ = 0;
  std::string description_;
};

template <typename T>
T* Engine::devAlloc(size_t count) {  // every device buffer of the plan; freed by the destructor
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(count, 1) * sizeof(T)));
  allocations_.push_back(p);
  return static_cast<T*>(p);
}

/** The bucket (graph batch size) of a decode step with `seqs` sequences: the next power of two, at most maxSeqs. */
int graphBucket(int seqs, int maxSeqs);

}  // namespace abq::engine

// Engine::step: validation, host staging (one pinned block copied in one call), graph buckets and
// replay, and the results' way back (engine.h).
#include "engine.h"
#include "cuda-check.cuh"

#include <algorithm>

namespace abq::engine {
namespace {

constexpr size_t kAlign = 256;

size_t alignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

std::string num(long long v) { return std::to_string(v); }

}  // namespace

int graphBucket(int seqs, int maxSeqs) {
  int b = 1;
  while (b < seqs) b <<= 1;
  return std::min(b, maxSeqs);
}

void Engine::allocStaging() {
  const size_t T = opts_.maxBatchTokens, R = maxRows_, S = opts_.maxSeqs;
  size_t off = 0;
  auto take = [&](size_t bytes) { const size_t o = off; off = alignUp(off + bytes); return o; };
  offTokens_ = take(T * 4); offPositions_ = take(T * 4); offSeqOf_ = take(T * 4); offRowIndex_ = take(R * 4);
  offTables_ = take(S * maxBps_ * 4); offParams_ = take(R * sizeof(RowSampling));
  inputBytes_ = off;
  offOutTokens_ = take(R * 4); offOutLogprobs_ = take(R * 4);
  stageBytes_ = off;
  CUDA_CHECK(cudaMallocHost(&hostStage_, stageBytes_));
  devStage_ = devAlloc<char>(stageBytes_);
  dTokens_ = reinterpret_cast<int*>(devStage_ + offTokens_);
  dPositions_ = reinterpret_cast<int*>(devStage_ + offPositions_);
  dSeqOf_ = reinterpret_cast<int*>(devStage_ + offSeqOf_);
  dRowIndex_ = reinterpret_cast<int*>(devStage_ + offRowIndex_);
  dTables_ = reinterpret_cast<int*>(devStage_ + offTables_);
  dParams_ = reinterpret_cast<RowSampling*>(devStage_ + offParams_);
  dOutTokens_ = reinterpret_cast<int*>(devStage_ + offOutTokens_);
  dOutLogprobs_ = reinterpret_cast<float*>(devStage_ + offOutLogprobs_);
}

StepOut Engine::step(const StepIn& in) {
  const ModelConfig& c = cfg_;
  const int S = static_cast<int>(in.seqs.size());
  const int T = static_cast<int>(in.tokens.size());
  if (S < 1) throw AbqError("step: the batch is empty");
  if (S > opts_.maxSeqs) throw AbqError("step: " + num(S) + " sequences exceed maxSeqs " + num(opts_.maxSeqs));
  if (T > opts_.maxBatchTokens) throw AbqError("step: " + num(T) + " tokens exceed maxBatchTokens " + num(opts_.maxBatchTokens));
  if (in.allLogits && T > maxRows_) throw AbqError("step: all-logits for " + num(T) + " tokens exceed maxLogitRows " + num(maxRows_));
  int* hTokens = reinterpret_cast<int*>(hostStage_ + offTokens_);
  int* hPos = reinterpret_cast<int*>(hostStage_ + offPositions_);
  int* hSeqOf = reinterpret_cast<int*>(hostStage_ + offSeqOf_);
  int* hRows = reinterpret_cast<int*>(hostStage_ + offRowIndex_);
  int* hTables = reinterpret_cast<int*>(hostStage_ + offTables_);
  RowSampling* hParams = reinterpret_cast<RowSampling*>(hostStage_ + offParams_);
  bool decodeOnly = !in.allLogits;
  int rows = 0;
  int expectStart = 0;
  for (int s = 0; s < S; s++) {
    const SeqIn& q = in.seqs[s];
    if (q.tokenCount < 1 || q.tokenStart != expectStart || q.tokenStart + q.tokenCount > T)
      throw AbqError("step: sequence " + num(s) + " covers tokens [" + num(q.tokenStart) + ", +" + num(q.tokenCount) + ") of " + num(T));
    expectStart += q.tokenCount;
    if (q.position < 0 || q.position + q.tokenCount > c.contextLength)
      throw AbqError("step: sequence " + num(s) + " reaches position " + num(q.position + q.tokenCount) + " past the context length " + num(c.contextLength));
    const int need = (q.position + q.tokenCount + opts_.blockSize - 1) / opts_.blockSize;
    if (q.tableLen < need || q.tableLen > maxBps_ || q.tableStart < 0 || q.tableStart + q.tableLen > static_cast<int>(in.blockTables.size()))
      throw AbqError("step: sequence " + num(s) + " has a block table of " + num(q.tableLen) + " blocks, needs " + num(need));
    for (int b = 0; b < maxBps_; b++) {
      const int id = b < q.tableLen ? in.blockTables[q.tableStart + b] : trashBlock_;
      if (id < 0 || id > trashBlock_ || (b < q.tableLen && id == trashBlock_))
        throw AbqError("step: sequence " + num(s) + " block " + num(id) + " is outside 0.." + num(numBlocks_ - 1));
      hTables[s * maxBps_ + b] = id;
    }
    for (int i = 0; i < q.tokenCount; i++) {
      const int tok = in.tokens[q.tokenStart + i];
      if (tok < 0 || tok >= c.vocab) throw AbqError("step: token id " + num(tok) + " is outside the vocabulary 0.." + num(c.vocab - 1));
      hTokens[q.tokenStart + i] = tok;
      hPos[q.tokenStart + i] = q.position + i;
      hSeqOf[q.tokenStart + i] = s;
    }
    if (q.tokenCount != 1 || !q.sample) decodeOnly = false;
    if (!in.allLogits && q.sample) {
      hRows[rows] = q.tokenStart + q.tokenCount - 1;
      hParams[rows] = RowSampling{q.temperature, q.topP, q.uniform, q.topK, q.logprob ? 1 : 0};
      rows++;
    }
  }
  if (expectStart != T) throw AbqError("step: sequences cover " + num(expectStart) + " of " + num(T) + " tokens");
  if (in.allLogits) { rows = T; for (int i = 0; i < T; i++) hRows[i] = i; }
  StepOut out;
  const bool useGraph = decodeOnly && opts_.graphs && !profiling_;
  int runT = T, runRows = rows;
  if (useGraph) {  // pad to the bucket: padding rows decode token 0 at position 0 into the trash block
    const int B = graphBucket(S, opts_.maxSeqs);
    for (int s = S; s < B; s++) {
      hTokens[s] = 0; hPos[s] = 0; hSeqOf[s] = s; hRows[s] = s;
      hParams[s] = RowSampling{0, 1, 0, 0, 0};
      for (int b = 0; b < maxBps_; b++) hTables[s * maxBps_ + b] = trashBlock_;
    }
    runT = runRows = B;
  }
  CUDA_CHECK(cudaMemcpyAsync(devStage_, hostStage_, inputBytes_, cudaMemcpyHostToDevice, stream_));
  if (useGraph) {
    auto it = graphs_.find(runT);
    if (it == graphs_.end() && warmed_[runT]) {
      cudaGraph_t g = nullptr;
      CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
      try { forward(runT, runRows, true); } catch (...) { cudaStreamEndCapture(stream_, &g); if (g) cudaGraphDestroy(g); throw; }
      CUDA_CHECK(cudaStreamEndCapture(stream_, &g));
      cudaGraphExec_t exec = nullptr;
      CUDA_CHECK(cudaGraphInstantiate(&exec, g, 0));
      cudaGraphDestroy(g);
      it = graphs_.emplace(runT, exec).first;
    }
    if (it != graphs_.end()) {
      CUDA_CHECK(cudaGraphLaunch(it->second, stream_));
      out.graphed = true;
    } else {
      forward(runT, runRows, true);  // first use of this bucket: warms lazily grown workspaces before capture
      warmed_[runT] = true;
    }
  } else {
    forward(runT, runRows, !in.allLogits);
  }
  if (in.allLogits) {
    out.logits.resize(static_cast<size_t>(T) * c.vocab);
    CUDA_CHECK(cudaMemcpyAsync(out.logits.data(), logits_, out.logits.size() * 4, cudaMemcpyDeviceToHost, stream_));
  } else {
    CUDA_CHECK(cudaMemcpyAsync(hostStage_ + offOutTokens_, devStage_ + offOutTokens_, stageBytes_ - offOutTokens_,
                               cudaMemcpyDeviceToHost, stream_));
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (profiling_) collectProfile();
  if (!in.allLogits) {
    const int* oT = reinterpret_cast<const int*>(hostStage_ + offOutTokens_);
    const float* oL = reinterpret_cast<const float*>(hostStage_ + offOutLogprobs_);
    out.tokens.assign(oT, oT + rows);
    out.logprobs.assign(oL, oL + rows);
  }
  return out;
}

}  // namespace abq::engine

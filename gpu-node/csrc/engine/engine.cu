// Engine: memory plan at load, step staging, the forward pass and CUDA-graph replay (engine.h).
#include "engine.h"
#include "cuda-check.cuh"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace abq::engine {
namespace {

// Tokens per inner linear call: bounds the shared accumulator and activation-plane scratch.
constexpr int kLinearChunk = 256;
std::string num(long long v) { return std::to_string(v); }

// Profiling: holds the stream for `ns` so the host enqueues the whole step before the GPU starts, and
// the events between ops then time GPU work only (not the host's launch rate).
constexpr long long kProfileHoldNs = 30'000'000;
__global__ void holdKernel(long long ns) {
  const long long t0 = clock64();
  long long waited = 0;
  while (waited < ns) { __nanosleep(100000); waited = (clock64() - t0) / 2; }  // ~2 cycles per ns at H100 clocks
}

}  // namespace


Engine::Engine(const HostModel& model, const EngineOptions& opts) : cfg_(model.cfg), opts_(opts) {
  const ModelConfig& c = cfg_;
  if (c.dim < 1 || c.layers < 1 || c.heads < 1 || c.kvHeads < 1 || c.heads % c.kvHeads != 0 || c.headDim < 2 ||
      c.headDim > 128 || c.headDim % 2 != 0 || c.vocab < 1 || c.ffn < 1 || c.contextLength < 1)
    throw AbqError("Engine: unsupported config dim=" + num(c.dim) + " layers=" + num(c.layers) + " heads=" + num(c.heads) +
                   " kvHeads=" + num(c.kvHeads) + " headDim=" + num(c.headDim) + " (head_dim must be even, 2..128; heads a multiple of kv heads)");
  if (static_cast<int>(model.layers.size()) != c.layers) throw AbqError("Engine: " + num(model.layers.size()) + " layers given, config says " + num(c.layers));
  if (static_cast<int>(model.invFreq.size()) != c.headDim / 2) throw AbqError("Engine: invFreq has " + num(model.invFreq.size()) + " entries, need headDim/2");
  if (opts_.blockSize < 1 || opts_.maxSeqs < 1 || opts_.maxBatchTokens < opts_.maxSeqs)
    throw AbqError("Engine: blockSize, maxSeqs must be >= 1 and maxBatchTokens >= maxSeqs");
  if (std::max(c.dim, std::max(c.ffn, c.heads * c.headDim)) > kPrepMaxK)
    throw AbqError("Engine: hidden/intermediate size above " + num(kPrepMaxK) + " is not supported by the fused norm+quantize kernel");
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  size_t free0 = 0, total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free0, &total));
  try {
    // ---- weights ----
    embed_ = devAlloc<float>(static_cast<size_t>(c.vocab) * c.dim);
    CUDA_CHECK(cudaMemcpyAsync(embed_, model.embed, static_cast<size_t>(c.vocab) * c.dim * 4, cudaMemcpyHostToDevice, stream_));
    finalNorm_ = devAlloc<float>(c.dim);
    CUDA_CHECK(cudaMemcpyAsync(finalNorm_, model.finalNorm, c.dim * 4, cudaMemcpyHostToDevice, stream_));
    const int half = c.headDim / 2;
    std::vector<float> cosH(static_cast<size_t>(c.contextLength) * half), sinH(cosH.size());
    for (int p = 0; p < c.contextLength; p++)
      for (int i = 0; i < half; i++) {
        const double a = p * model.invFreq[i];  // the reference's angles (rope.ts ropeAngles), rounded to f32
        cosH[static_cast<size_t>(p) * half + i] = static_cast<float>(std::cos(a));
        sinH[static_cast<size_t>(p) * half + i] = static_cast<float>(std::sin(a));
      }
    cos_ = devAlloc<float>(cosH.size());
    sin_ = devAlloc<float>(sinH.size());
    CUDA_CHECK(cudaMemcpyAsync(cos_, cosH.data(), cosH.size() * 4, cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaMemcpyAsync(sin_, sinH.data(), sinH.size() * 4, cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    layers_.resize(c.layers);
    std::string plan;
    for (int l = 0; l < c.layers; l++) {
      const HostLayer& h = model.layers[l];
      Layer& L = layers_[l];
      L.inputNorm = devAlloc<float>(c.dim);
      L.postNorm = devAlloc<float>(c.dim);
      CUDA_CHECK(cudaMemcpyAsync(L.inputNorm, h.inputNorm, c.dim * 4, cudaMemcpyHostToDevice, stream_));
      CUDA_CHECK(cudaMemcpyAsync(L.postNorm, h.postNorm, c.dim * 4, cudaMemcpyHostToDevice, stream_));
      if (canFuse({&h.q, &h.k, &h.v})) L.qkv = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.q, &h.k, &h.v}, stream_);
      else {
        L.q = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.q}, stream_);
        L.k = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.k}, stream_);
        L.v = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.v}, stream_);
      }
      L.o = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.o}, stream_);
      if (canFuse({&h.gate, &h.up})) L.gateUp = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.gate, &h.up}, stream_);
      else {
        L.gate = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.gate}, stream_);
        L.up = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.up}, stream_);
      }
      L.down = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&h.down}, stream_);
      if (l == 0) {
        auto name = [](const char* what, const std::unique_ptr<EngineLinear>& e) {
          return e ? std::string(what) + " " + e->specText() + " [" + e->planName(1) + "]; " : std::string();
        };
        plan = name("qkv", L.qkv) + name("q", L.q) + name("k", L.k) + name("v", L.v) + name("o", L.o) +
               name("gate_up", L.gateUp) + name("gate", L.gate) + name("up", L.up) + name("down", L.down);
      }
    }
    lmHead_ = std::make_unique<EngineLinear>(std::vector<const HostLinear*>{&model.lmHead}, stream_);
    if (lmHead_->n() != c.vocab || lmHead_->k() != c.dim) throw AbqError("Engine: lm_head is " + num(lmHead_->n()) + "x" + num(lmHead_->k()));
    // The tiled kernel's weight rows (prefill chunks, batches >= 32) belong to the weights' share of the plan.
    const int chunkTokens = std::min(kLinearChunk, opts_.maxBatchTokens);
    for (const Layer& L : layers_)
      for (const auto* e : {&L.qkv, &L.q, &L.k, &L.v, &L.o, &L.gateUp, &L.gate, &L.up, &L.down})
        if (*e) (*e)->prepareWeights(chunkTokens, stream_);
    lmHead_->prepareWeights(chunkTokens, stream_);
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    for (const Layer& L : layers_)
      for (const auto* e : {&L.qkv, &L.q, &L.k, &L.v, &L.o, &L.gateUp, &L.gate, &L.up, &L.down})
        if (*e) streamBytes_ += (*e)->streamBytes();
    streamBytes_ += lmHead_->streamBytes();
    description_ = model.description + (model.description.empty() ? "" : "; ") + "layer 0: " + plan + "lm_head " +
                   lmHead_->specText() + " [" + lmHead_->planName(1) + "]";
    size_t free1 = 0;
    CUDA_CHECK(cudaMemGetInfo(&free1, &total));
    mem_.weightBytes = free0 - free1;

    // ---- workspaces for maxBatchTokens ----
    const size_t T = opts_.maxBatchTokens;
    maxRows_ = std::max(opts_.maxSeqs, opts_.maxLogitRows);
    const int qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim;
    hidden_ = devAlloc<float>(T * c.dim);
    qkvBuf_ = devAlloc<float>(T * (qDim + 2 * kvDim));
    qRot_ = devAlloc<float>(T * qDim);
    att_ = devAlloc<float>(T * qDim);
    attnWs_.partials = devAlloc<char>(AttentionWorkspace::partialBytes(c.heads, c.headDim));
    attnWs_.counters = devAlloc<unsigned>(static_cast<size_t>(kAttentionSplitMaxTokens) * c.heads);
    CUDA_CHECK(cudaMemset(attnWs_.counters, 0, static_cast<size_t>(kAttentionSplitMaxTokens) * c.heads * sizeof(unsigned)));
    guBuf_ = devAlloc<float>(T * 2 * c.ffn);
    logits_ = devAlloc<float>(static_cast<size_t>(maxRows_) * c.vocab);
    sampleScratch_ = devAlloc<char>(samplingScratchBytes(opts_.maxSeqs, c.vocab));
    arena_.chunk = std::min<int>(kLinearChunk, static_cast<int>(T));
    ArenaNeeds need;
    for (const Layer& L : layers_)
      for (const auto* e : {&L.qkv, &L.q, &L.k, &L.v, &L.o, &L.gateUp, &L.gate, &L.up, &L.down})
        if (*e) need.maxWith((*e)->needs(arena_.chunk));
    need.maxWith(lmHead_->needs(arena_.chunk));
    for (const Layer& L : layers_)  // weight-only layers' own workspaces: sized now, never regrown under a graph
      for (const auto* e : {&L.qkv, &L.q, &L.k, &L.v, &L.o, &L.gateUp, &L.gate, &L.up, &L.down})
        if (*e) (*e)->reserve(arena_.chunk);
    lmHead_->reserve(arena_.chunk);
    arena_.planes = devAlloc<uint32_t>(need.planes);
    arena_.scales = devAlloc<float>(need.scales);
    arena_.zeros = devAlloc<uint8_t>(need.scales);
    arena_.sums = devAlloc<uint32_t>(need.sums);
    arena_.xf32 = devAlloc<float>(need.xf32);
    arena_.xf16 = devAlloc<__half>(need.xf16);
    arena_.yf16 = devAlloc<__half>(need.yf16);
    arena_.acc = devAlloc<uint32_t>(need.acc);
    CUDA_CHECK(cudaMemset(arena_.acc, 0, std::max<size_t>(need.acc, 1) * 4));
    arenaB_ = arena_;
    arenaB_.scales = devAlloc<float>(need.scales);
    arenaB_.zeros = devAlloc<uint8_t>(need.scales);
    arenaB_.sums = devAlloc<uint32_t>(need.sums);
    const char* fuseEnv = std::getenv("ABQ_ENGINE_FUSE");
    fuseEpilogues_ = !(fuseEnv && std::string(fuseEnv) == "0");
    const char* ropeEnv = std::getenv("ABQ_ENGINE_ROPE_FUSE");  // "0": q/k/v keep their own epilogue launch (diagnosis)
    ropeFuse_ = !(ropeEnv && std::string(ropeEnv) == "0");
    maxBps_ = (c.contextLength + opts_.blockSize - 1) / opts_.blockSize;
    allocStaging();
    size_t free2 = 0;
    CUDA_CHECK(cudaMemGetInfo(&free2, &total));
    mem_.workspaceBytes = free1 - free2;

    // ---- KV blocks: the given count, or a fraction of what is left (never more than maxSeqs full sequences) ----
    const size_t elem = opts_.kvF32 ? 4 : 2;
    const size_t blockBytes = 2ull * c.layers * opts_.blockSize * kvDim * elem;
    if (opts_.numBlocks > 0) numBlocks_ = opts_.numBlocks;
    else {
      const double budget = static_cast<double>(free2) * opts_.kvMemoryFraction;
      numBlocks_ = static_cast<int>(std::min<double>(budget / blockBytes, static_cast<double>(opts_.maxSeqs) * maxBps_));
    }
    if (numBlocks_ < 1) throw AbqError("Engine: no memory left for KV blocks (" + num(blockBytes) + " bytes each)");
    trashBlock_ = numBlocks_;  // one extra block takes the writes of graph padding rows
    layerKvElems_ = static_cast<size_t>(numBlocks_ + 1) * opts_.blockSize * kvDim;
    kCache_ = devAlloc<char>(layerKvElems_ * c.layers * elem);
    vCache_ = devAlloc<char>(layerKvElems_ * c.layers * elem);
    CUDA_CHECK(cudaMemsetAsync(kCache_, 0, layerKvElems_ * c.layers * elem, stream_));
    CUDA_CHECK(cudaMemsetAsync(vCache_, 0, layerKvElems_ * c.layers * elem, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    size_t free3 = 0;
    CUDA_CHECK(cudaMemGetInfo(&free3, &total));
    mem_.kvBytes = free2 - free3;
    mem_.deviceFree = free3;
    mem_.deviceTotal = total;
  } catch (...) {
    layers_.clear(); lmHead_.reset();
    for (void* p : allocations_) cudaFree(p);
    allocations_.clear();
    if (hostStage_) cudaFreeHost(hostStage_);
    cudaStreamDestroy(stream_);
    throw;
  }
}

Engine::~Engine() {
  for (auto& [b, g] : graphs_) cudaGraphExecDestroy(g);
  for (cudaEvent_t e : eventPool_) cudaEventDestroy(e);
  layers_.clear(); lmHead_.reset();
  for (void* p : allocations_) cudaFree(p);
  if (hostStage_) cudaFreeHost(hostStage_);
  cudaStreamDestroy(stream_);
}

void Engine::mark(const char* op) {
  if (!profiling_) return;
  if (marks_.size() == eventPool_.size()) {
    cudaEvent_t e = nullptr;
    CUDA_CHECK(cudaEventCreate(&e));
    eventPool_.push_back(e);
  }
  cudaEvent_t e = eventPool_[marks_.size()];
  CUDA_CHECK(cudaEventRecord(e, stream_));
  marks_.emplace_back(op, e);
}

void Engine::collectProfile() {
  for (size_t i = 1; i < marks_.size(); i++) {
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, marks_[i - 1].second, marks_[i].second));
    profMs_[marks_[i].first] += ms;
  }
  marks_.clear();
}

void Engine::forward(int t, int rows, bool sample) {
  const ModelConfig& c = cfg_;
  const int qDim = c.heads * c.headDim, kvDim = c.kvHeads * c.headDim, I = c.ffn;
  const size_t elem = opts_.kvF32 ? 4 : 2;
  const TokenMeta meta{dTokens_, dPositions_, dSeqOf_, dTables_, maxBps_, opts_.blockSize};
  if (profiling_) {
    holdKernel<<<1, 1, 0, stream_>>>(kProfileHoldNs);
    CUDA_CHECK_LAUNCH("holdKernel");
  }
  mark("start");
  embedRows(embed_, dTokens_, t, c.dim, hidden_, stream_);
  mark("embed");
  const PrepSource plain{kPrepRow, nullptr, 0, nullptr, 0, nullptr, 0, nullptr};
  // Decode: the epilogues of o, gate_up and down run inside the next prep (PendingEpilogue) where that
  // prep is the only reader (fused gate_up / qkv); qkv's feeds RoPE and the last down's the lm_head.
  const bool fuse = fuseEpilogues_ && t <= kFuseEpilogueMaxRows && t <= arena_.chunk;
  PendingEpilogue fromDown{};  // the previous layer's down_proj output, when deferred
  for (int l = 0; l < c.layers; l++) {
    const Layer& L = layers_[l];
    PrepSource n1 = plain;
    n1.mode = kPrepNorm; n1.x = hidden_; n1.xStride = c.dim; n1.normW = L.inputNorm; n1.eps = c.rmsEps;
    n1.fusedPrepOk = fuse;  // a one-token GEMV may normalize and quantize the row itself (ABQ_ENGINE_FUSED_PREP)
    const float *q, *k, *v;
    int qs, ks, vs;
    PendingEpilogue fromQkv{};  // decode: q/k/v finished inside the RoPE kernel
    if (L.qkv) {
      PrepSource src = n1;
      src.pending = fromDown;
      L.qkv->forward(src, t, qkvBuf_, nullptr, arena_, stream_, fuse && ropeFuse_ ? &fromQkv : nullptr);
      q = qkvBuf_; k = qkvBuf_ + qDim; v = qkvBuf_ + qDim + kvDim;
      qs = ks = vs = qDim + 2 * kvDim;
    } else {
      float* qb = qkvBuf_; float* kb = qb + static_cast<size_t>(opts_.maxBatchTokens) * qDim;
      float* vb = kb + static_cast<size_t>(opts_.maxBatchTokens) * kvDim;
      L.q->forward(n1, t, qb, nullptr, arena_, stream_);
      L.k->forward(n1, t, kb, nullptr, arena_, stream_);
      L.v->forward(n1, t, vb, nullptr, arena_, stream_);
      q = qb; k = kb; v = vb; qs = qDim; ks = vs = kvDim;
    }
    mark("qkv (norm+quant, gemm, epilogue)");
    char* kc = kCache_ + layerKvElems_ * l * elem;
    char* vc = vCache_ + layerKvElems_ * l * elem;
    ropeAndStore(q, qs, k, ks, v, vs, t, c.heads, c.kvHeads, c.headDim, cos_, sin_, meta, kc, vc, opts_.kvF32, qRot_, stream_,
                 fromQkv.kind != kPendingNone ? &fromQkv : nullptr);
    mark("rope+kv store");
    pagedAttention(qRot_, t, c.heads, c.kvHeads, c.headDim, meta, kc, vc, opts_.kvF32, att_, attnWs_, stream_);
    mark("attention");
    PrepSource a = plain;
    a.x = att_; a.xStride = qDim; a.fusedPrepOk = fuse;
    PendingEpilogue fromO{};
    L.o->forward(a, t, hidden_, hidden_, arenaB_, stream_, fuse && L.gateUp ? &fromO : nullptr);
    mark("o (quant, gemm, epilogue+residual)");
    PrepSource n2 = n1;
    n2.normW = L.postNorm;
    PrepSource sw = plain;
    sw.mode = kPrepSwiglu;
    sw.fusedPrepOk = fuse;
    if (L.gateUp) {
      n2.pending = fromO;
      PendingEpilogue fromGateUp{};
      L.gateUp->forward(n2, t, guBuf_, nullptr, arena_, stream_, fuse ? &fromGateUp : nullptr);
      sw.x = guBuf_; sw.xStride = 2 * I; sw.x2 = guBuf_ + I; sw.x2Stride = 2 * I;
      sw.pending = fromGateUp;
      sw.pending.x2Col = I;
    } else {
      float* ub = guBuf_ + static_cast<size_t>(opts_.maxBatchTokens) * I;
      L.gate->forward(n2, t, guBuf_, nullptr, arena_, stream_);
      L.up->forward(n2, t, ub, nullptr, arena_, stream_);
      sw.x = guBuf_; sw.xStride = I; sw.x2 = ub; sw.x2Stride = I;
    }
    mark("gate_up (norm+quant, gemm, epilogue)");
    const bool deferDown = fuse && l + 1 < c.layers && layers_[l + 1].qkv;
    fromDown = PendingEpilogue{};
    L.down->forward(sw, t, hidden_, hidden_, arenaB_, stream_, deferDown ? &fromDown : nullptr);
    mark("down (swiglu+quant, gemm, epilogue+residual)");
  }
  PrepSource fin = plain;
  fin.mode = kPrepNorm; fin.x = hidden_; fin.xStride = c.dim; fin.normW = finalNorm_; fin.eps = c.rmsEps; fin.rowIndex = dRowIndex_;
  lmHead_->forward(fin, rows, logits_, nullptr, arena_, stream_);
  mark("final norm + lm_head");
  if (sample) sampleRows(logits_, rows, c.vocab, dParams_, sampleScratch_, dOutTokens_, dOutLogprobs_, stream_);
  mark("sampling");
}

}  // namespace abq::engine

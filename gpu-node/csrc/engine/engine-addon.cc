// Node bindings of the engine (typed in gpu-node/src/native.ts, NativeEngineAddon). Arguments are
// checked and copied on the JS thread; construction and steps run on the libuv pool (AsyncWorker), so
// the event loop never waits on the GPU; every failure rejects with a message naming the operation.
//
//   createEngine(model, options): Promise<EngineHandle>
//   engineInfo(handle): NativeEngineInfo
//   engineStep(handle, { tokens, seqs, sampling, tables, allLogits }): Promise<{ tokens, logprobs, logits?, graphed }>
//   closeEngine(handle): void
#include "engine-addon.h"

#include <memory>
#include <mutex>

#include "cuda-check.cuh"
#include "engine.h"

namespace abq::engine {
namespace {

/** Host copies of everything createEngine was given (the HostModel points into these). */
struct ModelStorage {
  std::vector<std::vector<float>> f32;
  std::vector<std::vector<uint32_t>> u32;
  std::vector<std::vector<uint8_t>> u8;
  std::vector<std::vector<uint16_t>> u16;
  HostModel model;
};

struct EngineHandle {
  std::mutex mutex;
  std::unique_ptr<Engine> engine;
};

int intOf(const Napi::Object& o, const char* key, const std::string& what) {
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), what + "." + key + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

double numOf(const Napi::Object& o, const char* key, double fallback) {
  const Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

template <typename T>
const T* keep(std::vector<std::vector<T>>& store, const Napi::Value& v, napi_typedarray_type type, size_t expected,
              const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(v.Env(), "createEngine: " + what + " has the wrong typed-array type");
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  if (arr.ElementLength() != expected)
    throw Napi::RangeError::New(v.Env(), "createEngine: " + what + " has " + std::to_string(arr.ElementLength()) +
                                             " elements, expected " + std::to_string(expected));
  store.emplace_back(arr.Data(), arr.Data() + expected);
  return store.back().data();
}

HostLinear linearOf(ModelStorage& st, const Napi::Value& v, int n, int k, const std::string& what) {
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "createEngine: " + what + " must be an object");
  const Napi::Object o = v.As<Napi::Object>();
  HostLinear h;
  h.spec.n = intOf(o, "n", what);
  h.spec.k = intOf(o, "k", what);
  if (h.spec.n != n || h.spec.k != k)
    throw Napi::RangeError::New(v.Env(), "createEngine: " + what + " is " + std::to_string(h.spec.n) + "x" + std::to_string(h.spec.k) +
                                             ", the config requires " + std::to_string(n) + "x" + std::to_string(k));
  const std::string kind = o.Get("kind").ToString().Utf8Value();
  const Napi::Value bias = o.Get("bias");
  if (bias.IsTypedArray()) h.bias = keep(st.f32, bias, napi_float32_array, n, what + ".bias");
  if (kind == "packed") {
    h.kind = WeightKind::kPacked;
    h.spec.wbits = intOf(o, "wbits", what);
    h.spec.groupSize = intOf(o, "groupSize", what);
    h.spec.abits = intOf(o, "abits", what);
    h.spec.actGroup = intOf(o, "actGroup", what);
    if (h.spec.wbits < 1 || h.spec.wbits > 8) throw Napi::RangeError::New(v.Env(), "createEngine: " + what + ".wbits must be 1..8");
    const int g = h.spec.groupSize <= 0 || h.spec.groupSize >= k ? k : h.spec.groupSize;
    const size_t groups = (k + g - 1) / g;
    h.planes = keep(st.u32, o.Get("planes"), napi_uint32_array, static_cast<size_t>(h.spec.wbits) * n * ((k + 31) / 32), what + ".planes");
    h.scales = keep(st.f32, o.Get("scales"), napi_float32_array, n * groups, what + ".scales");
    h.zeros = keep(st.u8, o.Get("zeros"), napi_uint8_array, n * groups, what + ".zeros");
  } else if (kind == "f32") {
    h.kind = WeightKind::kDenseF32;
    h.denseF32 = keep(st.f32, o.Get("dense"), napi_float32_array, static_cast<size_t>(n) * k, what + ".dense");
  } else if (kind == "f16") {
    h.kind = WeightKind::kDenseF16;
    h.denseF16 = reinterpret_cast<const __half*>(keep(st.u16, o.Get("dense"), napi_uint16_array, static_cast<size_t>(n) * k, what + ".dense"));
  } else {
    throw Napi::TypeError::New(v.Env(), "createEngine: " + what + ".kind is '" + kind + "'; use packed, f32 or f16");
  }
  return h;
}

std::unique_ptr<ModelStorage> parseModel(const Napi::Object& m) {
  auto st = std::make_unique<ModelStorage>();
  HostModel& hm = st->model;
  const Napi::Value cv = m.Get("config");
  if (!cv.IsObject()) throw Napi::TypeError::New(m.Env(), "createEngine: model.config must be an object");
  const Napi::Object c = cv.As<Napi::Object>();
  ModelConfig& cfg = hm.cfg;
  cfg.dim = intOf(c, "dim", "config"); cfg.layers = intOf(c, "layers", "config"); cfg.heads = intOf(c, "heads", "config");
  cfg.kvHeads = intOf(c, "kvHeads", "config"); cfg.headDim = intOf(c, "headDim", "config"); cfg.ffn = intOf(c, "ffn", "config");
  cfg.vocab = intOf(c, "vocab", "config"); cfg.contextLength = intOf(c, "contextLength", "config");
  cfg.rmsEps = numOf(c, "rmsEps", 1e-5);
  if (cfg.dim < 1 || cfg.layers < 1 || cfg.heads < 1 || cfg.kvHeads < 1 || cfg.headDim < 2 || cfg.vocab < 1 || cfg.ffn < 1)
    throw Napi::RangeError::New(m.Env(), "createEngine: config dimensions must be positive");
  const Napi::Value inv = m.Get("invFreq");
  if (!inv.IsTypedArray() || inv.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(m.Env(), "createEngine: model.invFreq must be a Float64Array");
  auto invArr = inv.As<Napi::Float64Array>();
  hm.invFreq.assign(invArr.Data(), invArr.Data() + invArr.ElementLength());
  hm.embed = keep(st->f32, m.Get("embed"), napi_float32_array, static_cast<size_t>(cfg.vocab) * cfg.dim, "embed");
  hm.finalNorm = keep(st->f32, m.Get("finalNorm"), napi_float32_array, cfg.dim, "finalNorm");
  const Napi::Value lv = m.Get("layers");
  if (!lv.IsArray() || lv.As<Napi::Array>().Length() != static_cast<uint32_t>(cfg.layers))
    throw Napi::RangeError::New(m.Env(), "createEngine: model.layers must be an array of " + std::to_string(cfg.layers));
  const Napi::Array layers = lv.As<Napi::Array>();
  const int qDim = cfg.heads * cfg.headDim, kvDim = cfg.kvHeads * cfg.headDim;
  for (int l = 0; l < cfg.layers; l++) {
    const Napi::Object L = layers.Get(l).As<Napi::Object>();
    const std::string p = "layers[" + std::to_string(l) + "].";
    HostLayer h;
    h.inputNorm = keep(st->f32, L.Get("inputNorm"), napi_float32_array, cfg.dim, p + "inputNorm");
    h.postNorm = keep(st->f32, L.Get("postNorm"), napi_float32_array, cfg.dim, p + "postNorm");
    h.q = linearOf(*st, L.Get("q"), qDim, cfg.dim, p + "q");
    h.k = linearOf(*st, L.Get("k"), kvDim, cfg.dim, p + "k");
    h.v = linearOf(*st, L.Get("v"), kvDim, cfg.dim, p + "v");
    h.o = linearOf(*st, L.Get("o"), cfg.dim, qDim, p + "o");
    h.gate = linearOf(*st, L.Get("gate"), cfg.ffn, cfg.dim, p + "gate");
    h.up = linearOf(*st, L.Get("up"), cfg.ffn, cfg.dim, p + "up");
    h.down = linearOf(*st, L.Get("down"), cfg.dim, cfg.ffn, p + "down");
    hm.layers.push_back(h);
  }
  hm.lmHead = linearOf(*st, m.Get("lmHead"), cfg.vocab, cfg.dim, "lmHead");
  const Napi::Value d = m.Get("description");
  if (d.IsString()) hm.description = d.As<Napi::String>().Utf8Value();
  return st;
}

EngineOptions optionsOf(const Napi::Value& v) {
  EngineOptions o;
  if (!v.IsObject()) return o;
  const Napi::Object x = v.As<Napi::Object>();
  o.blockSize = static_cast<int>(numOf(x, "blockSize", o.blockSize));
  o.numBlocks = static_cast<int>(numOf(x, "numBlocks", o.numBlocks));
  o.kvMemoryFraction = numOf(x, "kvMemoryFraction", o.kvMemoryFraction);
  o.maxBatchTokens = static_cast<int>(numOf(x, "maxBatchTokens", o.maxBatchTokens));
  o.maxSeqs = static_cast<int>(numOf(x, "maxSeqs", o.maxSeqs));
  o.maxLogitRows = static_cast<int>(numOf(x, "maxLogitRows", o.maxLogitRows));
  const Napi::Value kv = x.Get("kvF32");
  if (kv.IsBoolean()) o.kvF32 = kv.As<Napi::Boolean>().Value();
  const Napi::Value g = x.Get("graphs");
  if (g.IsBoolean()) o.graphs = g.As<Napi::Boolean>().Value();
  return o;
}

class CreateEngineWorker : public Napi::AsyncWorker {
 public:
  CreateEngineWorker(Napi::Env env, std::unique_ptr<ModelStorage> st, EngineOptions opts)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), st_(std::move(st)), opts_(opts) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      engine_ = std::make_unique<Engine>(st_->model, opts_);
    } catch (const std::exception& e) {
      SetError(std::string("createEngine: ") + e.what());
    }
    st_.reset();  // the host copies are no longer needed once uploaded
  }
  void OnOK() override {
    auto* h = new EngineHandle();
    h->engine = std::move(engine_);
    auto ext = Napi::External<EngineHandle>::New(Env(), h, [](Napi::Env, EngineHandle* p) {
      {
        std::lock_guard<std::mutex> lock(p->mutex);  // released before the handle (and its mutex) is freed
        p->engine.reset();
      }
      delete p;
    });
    deferred_.Resolve(ext);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<ModelStorage> st_;
  EngineOptions opts_;
  std::unique_ptr<Engine> engine_;
};

EngineHandle* handleOf(const Napi::Value& v, const char* op) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), std::string(op) + ": the first argument must be an engine handle");
  EngineHandle* h = v.As<Napi::External<EngineHandle>>().Data();
  if (!h->engine) throw Napi::Error::New(v.Env(), std::string(op) + ": the engine was closed");
  return h;
}

Napi::Value CreateEngine(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "createEngine: the first argument must be the model description");
  auto st = parseModel(info[0].As<Napi::Object>());
  auto* w = new CreateEngineWorker(info.Env(), std::move(st), optionsOf(info[1]));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value EngineInfo(const Napi::CallbackInfo& info) {
  EngineHandle* h = handleOf(info[0], "engineInfo");
  const Engine& e = *h->engine;
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("numBlocks", e.numBlocks());
  o.Set("blockSize", e.options().blockSize);
  o.Set("maxBatchTokens", e.options().maxBatchTokens);
  o.Set("maxSeqs", e.options().maxSeqs);
  o.Set("maxLogitRows", e.maxLogitRows());
  o.Set("maxBlocksPerSeq", e.maxBlocksPerSeq());
  o.Set("contextLength", e.config().contextLength);
  o.Set("vocab", e.config().vocab);
  o.Set("description", e.description());
  o.Set("weightStreamBytes", e.weightStreamBytes());
  o.Set("graphsCaptured", e.graphsCaptured());
  Napi::Object m = Napi::Object::New(env);
  const MemoryPlan& mp = e.memory();
  m.Set("weightBytes", static_cast<double>(mp.weightBytes));
  m.Set("kvBytes", static_cast<double>(mp.kvBytes));
  m.Set("workspaceBytes", static_cast<double>(mp.workspaceBytes));
  m.Set("deviceFreeBytes", static_cast<double>(mp.deviceFree));
  m.Set("deviceTotalBytes", static_cast<double>(mp.deviceTotal));
  o.Set("memory", m);
  return o;
}

template <typename T>
std::vector<T> copyArr(const Napi::Value& v, napi_typedarray_type type, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(v.Env(), "engineStep: " + what + " has the wrong typed-array type");
  auto a = v.As<Napi::TypedArrayOf<T>>();
  return std::vector<T>(a.Data(), a.Data() + a.ElementLength());
}

class StepWorker : public Napi::AsyncWorker {
 public:
  StepWorker(Napi::Env env, const Napi::Value& handle, EngineHandle* h, StepIn in)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), h_(h), in_(std::move(in)) {
    ref_ = Napi::Persistent(handle.As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    std::lock_guard<std::mutex> lock(h_->mutex);
    if (!h_->engine) { SetError("engineStep: the engine was closed"); return; }
    try {
      out_ = h_->engine->step(in_);
    } catch (const std::exception& e) {
      SetError(std::string("engineStep [") + std::to_string(in_.seqs.size()) + " seqs, " + std::to_string(in_.tokens.size()) +
               " tokens]: " + e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    auto t = Napi::Int32Array::New(env, out_.tokens.size());
    std::copy(out_.tokens.begin(), out_.tokens.end(), t.Data());
    auto lp = Napi::Float32Array::New(env, out_.logprobs.size());
    std::copy(out_.logprobs.begin(), out_.logprobs.end(), lp.Data());
    o.Set("tokens", t);
    o.Set("logprobs", lp);
    if (in_.allLogits) {
      auto lg = Napi::Float32Array::New(env, out_.logits.size());
      std::copy(out_.logits.begin(), out_.logits.end(), lg.Data());
      o.Set("logits", lg);
    }
    o.Set("graphed", out_.graphed);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference ref_;
  EngineHandle* h_;
  StepIn in_;
  StepOut out_;
};

constexpr int kSeqInts = 5;       // tokenStart, tokenCount, position, tableStart, tableLen
constexpr int kSeqSampling = 6;   // sample, temperature, topK, topP, uniform, logprob

Napi::Value EngineStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EngineHandle* h = handleOf(info[0], "engineStep");
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, "engineStep: the second argument must be the batch");
  const Napi::Object b = info[1].As<Napi::Object>();
  StepIn in;
  in.tokens = copyArr<int32_t>(b.Get("tokens"), napi_int32_array, "tokens");
  const auto seqs = copyArr<int32_t>(b.Get("seqs"), napi_int32_array, "seqs");
  const auto sampling = copyArr<double>(b.Get("sampling"), napi_float64_array, "sampling");
  in.blockTables = copyArr<int32_t>(b.Get("tables"), napi_int32_array, "tables");
  const Napi::Value al = b.Get("allLogits");
  in.allLogits = al.IsBoolean() && al.As<Napi::Boolean>().Value();
  if (seqs.size() % kSeqInts != 0 || sampling.size() != seqs.size() / kSeqInts * kSeqSampling)
    throw Napi::RangeError::New(env, "engineStep: seqs must hold 5 ints and sampling 6 numbers per sequence (got " +
                                         std::to_string(seqs.size()) + " and " + std::to_string(sampling.size()) + ")");
  for (size_t s = 0; s < seqs.size() / kSeqInts; s++) {
    const int32_t* q = &seqs[s * kSeqInts];
    const double* p = &sampling[s * kSeqSampling];
    in.seqs.push_back(SeqIn{q[0], q[1], q[2], q[3], q[4], p[0] != 0, p[5] != 0, p[1], p[3], p[4], static_cast<int>(p[2])});
  }
  auto* w = new StepWorker(env, info[0], h, std::move(in));
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
}

Napi::Value CloseEngine(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "closeEngine: the argument must be an engine handle");
  EngineHandle* h = info[0].As<Napi::External<EngineHandle>>().Data();
  std::lock_guard<std::mutex> lock(h->mutex);
  h->engine.reset();
  return info.Env().Undefined();
}

}  // namespace

void registerEngineBindings(Napi::Env env, Napi::Object exports) {
  exports.Set("createEngine", Napi::Function::New(env, CreateEngine));
  exports.Set("engineInfo", Napi::Function::New(env, EngineInfo));
  exports.Set("engineStep", Napi::Function::New(env, EngineStep));
  exports.Set("closeEngine", Napi::Function::New(env, CloseEngine));
}

}  // namespace abq::engine

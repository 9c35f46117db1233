// Node binding (node-addon-api): converts JS arguments, checks shapes, runs GPU work on the libuv
// thread pool (Napi::AsyncWorker, so the event loop never waits on the GPU) and turns every C++/CUDA
// failure into a rejected promise whose message names the operation and the shape.
//
// JS surface (typed in gpu-node/src/native.ts):
//   deviceInfo(): DeviceInfo                                   (sync; throws without a usable device)
//   createLinear(spec, planes, scales, zeros, bias|null): Promise<handle>
//   forward(handle, x: Uint16Array (fp16 bits), m, debug): Promise<{ y: Uint16Array, plan, debug? }>
//   planName(handle, m): string        dispose(handle): void
#include <napi.h>

#include <memory>
#include <mutex>

#include "cuda-check.cuh"
#include "linear.h"
#include "engine/engine-addon.h"

namespace {

// One GPU operation at a time: layers share the stream, and each layer's workspace is reused.
std::mutex gGpuMutex;

cudaStream_t gpuStream() {
  static cudaStream_t stream = [] {
    cudaStream_t s = nullptr;
    CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
  }();
  return stream;
}

struct LayerHandle {
  std::unique_ptr<abq::Linear> linear;
};

// DevicePtr: a cudaMalloc'd buffer freed on scope exit (the forward call's input and output).
template <typename T>
struct DevicePtr {
  T* p = nullptr;
  explicit DevicePtr(size_t count) { CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(count, 1) * sizeof(T))); }
  ~DevicePtr() { if (p) cudaFree(p); }
};

int intProp(const Napi::Object& o, const char* key, int fallback) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("createLinear: spec.") + key + " must be a number");
  return v.As<Napi::Number>().Int32Value();
}

template <typename T>
std::vector<T> copyTyped(const Napi::Value& v, napi_typedarray_type type, size_t expected, const std::string& what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw Napi::TypeError::New(v.Env(), what + " has the wrong typed-array type");
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  if (arr.ElementLength() != expected)
    throw Napi::RangeError::New(v.Env(), what + " has " + std::to_string(arr.ElementLength()) + " elements, expected " +
                                             std::to_string(expected));
  return std::vector<T>(arr.Data(), arr.Data() + expected);
}

LayerHandle* handleOf(const Napi::Value& v, const char* op) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), std::string(op) + ": the first argument must be a layer handle");
  LayerHandle* h = v.As<Napi::External<LayerHandle>>().Data();
  if (!h->linear) throw Napi::Error::New(v.Env(), std::string(op) + ": the layer was disposed");
  return h;
}

Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
  try {
    const abq::DeviceInfo d = abq::queryDevice();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("count", d.count);
    o.Set("name", d.name);
    o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    o.Set("smCount", d.smCount);
    o.Set("totalMemoryBytes", static_cast<double>(d.totalMem));
    o.Set("runtimeVersion", d.runtimeVersion);
    o.Set("driverVersion", d.driverVersion);
    return o;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("deviceInfo: ") + e.what());
  }
}

class CreateWorker : public Napi::AsyncWorker {
 public:
  CreateWorker(Napi::Env env, abq::LinearSpec spec, std::vector<uint32_t> planes, std::vector<float> scales,
               std::vector<uint8_t> zeros, std::vector<float> bias)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), spec_(spec), planes_(std::move(planes)),
        scales_(std::move(scales)), zeros_(std::move(zeros)), bias_(std::move(bias)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      std::lock_guard<std::mutex> lock(gGpuMutex);
      handle_ = std::make_unique<LayerHandle>();
      handle_->linear = std::make_unique<abq::Linear>(spec_, planes_.data(), scales_.data(), zeros_.data(),
                                                      bias_.empty() ? nullptr : bias_.data(), gpuStream());
    } catch (const std::exception& e) {
      SetError(std::string("createLinear [N=") + std::to_string(spec_.n) + " K=" + std::to_string(spec_.k) + " W" +
               std::to_string(spec_.wbits) + "A" + std::to_string(spec_.abits) + "]: " + e.what());
    }
  }
  void OnOK() override {
    auto ext = Napi::External<LayerHandle>::New(Env(), handle_.release(), [](Napi::Env, LayerHandle* h) {
      std::lock_guard<std::mutex> lock(gGpuMutex);
      delete h;
    });
    deferred_.Resolve(ext);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  abq::LinearSpec spec_;
  std::vector<uint32_t> planes_;
  std::vector<float> scales_;
  std::vector<uint8_t> zeros_;
  std::vector<float> bias_;
  std::unique_ptr<LayerHandle> handle_;
};

Napi::Value CreateLinear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "createLinear(spec, planes, scales, zeros, bias?) needs at least 4 arguments");
  const Napi::Object s = info[0].As<Napi::Object>();
  abq::LinearSpec spec{intProp(s, "n", 0), intProp(s, "k", 0), intProp(s, "wbits", 0), intProp(s, "groupSize", 0),
                       intProp(s, "abits", 0), intProp(s, "actGroup", 0)};
  const std::string shape = "[N=" + std::to_string(spec.n) + " K=" + std::to_string(spec.k) + " W" +
                            std::to_string(spec.wbits) + "]";
  if (spec.n < 1 || spec.k < 1 || spec.wbits < 1 || spec.wbits > 8)
    throw Napi::RangeError::New(env, "createLinear " + shape + ": need N, K >= 1 and weight bits in 1..8");
  const int group = spec.groupSize <= 0 || spec.groupSize >= spec.k ? spec.k : spec.groupSize;
  const size_t groups = (spec.k + group - 1) / group;
  const size_t words = (spec.k + 31) / 32;
  auto planes = copyTyped<uint32_t>(info[1], napi_uint32_array, spec.wbits * spec.n * words, "createLinear " + shape + " planes");
  auto scales = copyTyped<float>(info[2], napi_float32_array, spec.n * groups, "createLinear " + shape + " scales");
  auto zeros = copyTyped<uint8_t>(info[3], napi_uint8_array, spec.n * groups, "createLinear " + shape + " zeros");
  std::vector<float> bias;
  if (info.Length() > 4 && !info[4].IsNull() && !info[4].IsUndefined())
    bias = copyTyped<float>(info[4], napi_float32_array, spec.n, "createLinear " + shape + " bias");
  auto* worker = new CreateWorker(env, spec, std::move(planes), std::move(scales), std::move(zeros), std::move(bias));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, Napi::Value handleValue, LayerHandle* handle, std::vector<uint16_t> x, int m, bool debug)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)),
        handleRef_(Napi::Persistent(handleValue.As<Napi::Object>())), handle_(handle), x_(std::move(x)), m_(m),
        debug_(debug) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::lock_guard<std::mutex> lock(gGpuMutex);
    abq::Linear* lin = handle_->linear.get();
    try {
      if (!lin) throw abq::AbqError("the layer was disposed");
      const size_t n = lin->spec().n, k = lin->spec().k;
      cudaStream_t stream = gpuStream();
      DevicePtr<__half> dx(m_ * k), dy(m_ * n);
      CUDA_CHECK(cudaMemcpyAsync(dx.p, x_.data(), m_ * k * 2, cudaMemcpyHostToDevice, stream));
      lin->forward(dx.p, m_, dy.p, stream, debug_ ? &dbg_ : nullptr);
      y_.resize(m_ * n);
      CUDA_CHECK(cudaMemcpyAsync(y_.data(), dy.p, m_ * n * 2, cudaMemcpyDeviceToHost, stream));
      CUDA_CHECK(cudaStreamSynchronize(stream));
      plan_ = lin->planName(m_);
    } catch (const std::exception& e) {
      SetError("forward [" + (lin ? lin->shapeText(m_) : std::string("M=") + std::to_string(m_)) + "]: " + e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("y", toTyped<uint16_t>(env, y_));
    out.Set("plan", plan_);
    if (debug_ && !dbg_.acc.empty()) {
      Napi::Object d = Napi::Object::New(env);
      d.Set("wordsPad", dbg_.wordsPad);
      d.Set("actPlanes", toTyped<uint32_t>(env, dbg_.actPlanes));
      d.Set("actScales", toTyped<float>(env, dbg_.actScales));
      d.Set("actZeros", toTyped<uint8_t>(env, dbg_.actZeros));
      d.Set("actSums", toTyped<uint32_t>(env, dbg_.actSums));
      d.Set("acc", toTyped<uint32_t>(env, dbg_.acc));
      out.Set("debug", d);
    }
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  template <typename T>
  static Napi::Value toTyped(Napi::Env env, const std::vector<T>& v) {
    auto arr = Napi::TypedArrayOf<T>::New(env, v.size());
    std::copy(v.begin(), v.end(), arr.Data());
    return arr;
  }
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference handleRef_;  // keeps the layer alive while the worker runs
  LayerHandle* handle_;
  std::vector<uint16_t> x_;
  size_t m_;
  bool debug_;
  std::vector<uint16_t> y_;
  std::string plan_;
  abq::ForwardDebug dbg_;
};

Napi::Value Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LayerHandle* h = handleOf(info[0], "forward");
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "forward: M (argument 3) must be a number");
  const int m = info[2].As<Napi::Number>().Int32Value();
  const auto& spec = h->linear->spec();
  const std::string shape = "[M=" + std::to_string(m) + " K=" + std::to_string(spec.k) + "]";
  if (m < 1) throw Napi::RangeError::New(env, "forward " + shape + ": M must be >= 1");
  auto x = copyTyped<uint16_t>(info[1], napi_uint16_array, static_cast<size_t>(m) * spec.k, "forward " + shape + " x (fp16 bits)");
  const bool debug = info.Length() > 3 && info[3].ToBoolean().Value();
  auto* worker = new ForwardWorker(env, info[0], h, std::move(x), m, debug);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value PlanName(const Napi::CallbackInfo& info) {
  LayerHandle* h = handleOf(info[0], "planName");
  try {
    return Napi::String::New(info.Env(), h->linear->planName(info[1].As<Napi::Number>().Int32Value()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("planName: ") + e.what());
  }
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "dispose: the argument must be a layer handle");
  LayerHandle* h = info[0].As<Napi::External<LayerHandle>>().Data();
  std::lock_guard<std::mutex> lock(gGpuMutex);
  h->linear.reset();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceInfo", Napi::Function::New(env, DeviceInfo));
  exports.Set("createLinear", Napi::Function::New(env, CreateLinear));
  exports.Set("forward", Napi::Function::New(env, Forward));
  exports.Set("planName", Napi::Function::New(env, PlanName));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  abq::engine::registerEngineBindings(env, exports);  // createEngine, engineStep, ... (engine/engine-addon.cc)
  return exports;
}

}  // namespace

NODE_API_MODULE(abq_gpu, Init)

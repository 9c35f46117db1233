// CUDA_CHECK and the one error type of the native side. Every CUDA runtime call and every kernel
// launch goes through these, so a failure reaches JS as an exception naming the statement, the file
// and line, and (through AbqError's context) the operation and shape.
#pragma once
#include <cuda_runtime.h>
#include <stdexcept>
#include <cstring>
#include <string>

namespace abq {

/** The only exception type thrown by the native side; the binding turns it into a JS Error. */
struct AbqError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void throwCuda(cudaError_t err, const char* expr, const char* file, int line) {
  const char* slash = std::strrchr(file, '/');
  file = slash ? slash + 1 : file;  // the file name only: no build-machine paths in messages
  throw AbqError(std::string("CUDA error ") + std::to_string(static_cast<int>(err)) + " (" +
                 cudaGetErrorName(err) + ": " + cudaGetErrorString(err) + ") in `" + expr + "` at " + file +
                 ":" + std::to_string(line));
}

}  // namespace abq

#define CUDA_CHECK(expr)                                                          \
  do {                                                                            \
    cudaError_t abq_err_ = (expr);                                                \
    if (abq_err_ != cudaSuccess) ::abq::throwCuda(abq_err_, #expr, __FILE__, __LINE__); \
  } while (0)

// After every launch: catches bad launch configurations at once (the asynchronous fault, if any,
// surfaces at the next synchronizing call, which is also checked).
#define CUDA_CHECK_LAUNCH(name) CUDA_CHECK(cudaGetLastError())

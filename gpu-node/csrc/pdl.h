// Programmatic dependent launch (PDL) on the host side: kernels on the decode path are launched with the
// programmatic-serialization attribute so each one's CTAs can be resident, and start their independent
// work (the GEMV's first weight loads), while the kernel before it finishes. The device side is
// ptx.cuh pdlWait / pdlLaunchDependents; every kernel launched through launchPdl calls pdlWait before
// it reads what earlier kernels wrote and before it exits. Stream capture turns the attribute into
// programmatic edges of the CUDA graph.
//
// ABQ_PDL=0 turns it off (every launch then serializes as usual); it is also off below sm_90.
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <utility>

#include "cuda-check.cuh"

namespace abq {

inline bool pdlEnabled() {
  static const bool on = [] {
    const char* env = std::getenv("ABQ_PDL");
    if (env && env[0] == '0') return false;
    int dev = 0, major = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return false;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return false;
    return major >= 9;
  }();
  return on;
}

/**
 * RoPE and decode attention launch with the attribute only with ABQ_PDL_ATTN=1: measured slower on the
 * H100 (7B W2A8 batch-1 decode 379 vs 394 tok/s, NOTES.md engine E3), unlike the GEMV/prep chain.
 */
inline bool pdlAttentionEnabled() {
  static const bool on = [] {
    const char* env = std::getenv("ABQ_PDL_ATTN");
    return pdlEnabled() && env && env[0] == '1';
  }();
  return on;
}

/** Launch kernel<<<grid, block, smem, stream>>>(args...), with the PDL attribute where `on` and PDL is enabled. */
template <typename... KernelArgs, typename... Args>
void launchPdlIf(bool on, void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, Args&&... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = on && pdlEnabled() ? 1 : 0;
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

/** The same with the attribute wherever PDL is enabled. */
template <typename... KernelArgs, typename... Args>
void launchPdl(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, Args&&... args) {
  launchPdlIf(true, kernel, grid, block, smem, stream, std::forward<Args>(args)...);
}

}  // namespace abq

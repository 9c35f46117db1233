// Launch of btcGemmKernel for one weight width P; the (R, MT) variants compiled per P are listed here,
// in one place. Each btc-inst-p<P>.cu instantiates this for its P, so the 8 widths compile in parallel.
#pragma once
#include "btc-decode-kernel.cuh"
#include "btc-kernel.cuh"
#include "cuda-check.cuh"
#include "pdl.h"

namespace abq {

/** MT values compiled (m-tiles per warp). */
constexpr int kBtcMtChoices[] = {1, 2, 4};

template <int P>
void launchBtc(int r, int mt, dim3 grid, cudaStream_t stream, const BtcArgs& args) {
#define ABQ_BTC_CASE(R_, MT_)                                                        \
  if (r == R_ && mt == MT_) {                                                        \
    launchPdl(btcGemmKernel<P, R_, MT_>, grid, dim3(kBtcThreads), 0, stream, args);  \
    CUDA_CHECK_LAUNCH("btcGemmKernel");                                              \
    return;                                                                          \
  }
  ABQ_BTC_CASE(1, 1) ABQ_BTC_CASE(1, 2) ABQ_BTC_CASE(1, 4)
  ABQ_BTC_CASE(2, 1) ABQ_BTC_CASE(2, 2) ABQ_BTC_CASE(2, 4)
  ABQ_BTC_CASE(4, 1) ABQ_BTC_CASE(4, 2) ABQ_BTC_CASE(4, 4)
  ABQ_BTC_CASE(8, 1) ABQ_BTC_CASE(8, 2) ABQ_BTC_CASE(8, 4)
#undef ABQ_BTC_CASE
  throw AbqError("btcGemmKernel: no compiled variant for p=" + std::to_string(P) + " rows/token=" +
                 std::to_string(r) + " m-tiles=" + std::to_string(mt));
}

template <int P>
void launchBtcDecode(int r, dim3 grid, cudaStream_t stream, const BtcArgs& args) {
  switch (r) {
    case 1: launchPdl(btcDecodeKernel<P, 1>, grid, dim3(kBtcThreads), 0, stream, args); break;
    case 2: launchPdl(btcDecodeKernel<P, 2>, grid, dim3(kBtcThreads), 0, stream, args); break;
    case 4: launchPdl(btcDecodeKernel<P, 4>, grid, dim3(kBtcThreads), 0, stream, args); break;
    case 8: launchPdl(btcDecodeKernel<P, 8>, grid, dim3(kBtcThreads), 0, stream, args); break;
    default: throw AbqError("btcDecodeKernel: no variant for " + std::to_string(r) + " rows per token");
  }
  CUDA_CHECK_LAUNCH("btcDecodeKernel");
}

}  // namespace abq

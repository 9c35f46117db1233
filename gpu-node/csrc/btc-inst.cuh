// Launch of btcGemmKernel for one weight width P; the (R, MT) variants compiled per P are listed here,
// in one place. Each btc-inst-p<P>.cu instantiates this for its P, so the 8 widths compile in parallel.
#pragma once
#include "btc-decode-cta-kernel.cuh"
#include "btc-decode-kernel.cuh"
#include "btc-decode-prep-kernel.cuh"
#include "btc-decode-wide-kernel.cuh"
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

/** The decode kernels: split-K over CTAs (btc-decode-kernel.cuh) or K split inside one CTA per 16-output
 *  tile (btc-decode-cta-kernel.cuh, `ctaLocal`, with `smem` bytes of shared accumulators). */
template <int P>
void launchBtcDecode(int r, bool ctaLocal, dim3 grid, size_t smem, cudaStream_t stream, const BtcArgs& args) {
#define ABQ_DECODE_CASE(R_)                                                                            \
  case R_:                                                                                             \
    if (ctaLocal) launchPdl(btcDecodeCtaKernel<P, R_>, grid, dim3(kBtcThreads), smem, stream, args);   \
    else launchPdl(btcDecodeKernel<P, R_>, grid, dim3(kBtcThreads), 0, stream, args);                  \
    break;
  switch (r) {
    ABQ_DECODE_CASE(1) ABQ_DECODE_CASE(2) ABQ_DECODE_CASE(4) ABQ_DECODE_CASE(8)
    default: throw AbqError("btcDecodeKernel: no variant for " + std::to_string(r) + " rows per token");
  }
#undef ABQ_DECODE_CASE
  CUDA_CHECK_LAUNCH(ctaLocal ? "btcDecodeCtaKernel" : "btcDecodeKernel");
}

/** The fused-prep decode kernel (btc-decode-prep-kernel.cuh) for R rows per token. Rows past 48 KB of shared
 *  memory (SwiGLU's K = 11,008) need the opt-in: once per kernel (the process's current device). */
template <int P, int R>
void launchBtcDecodePrepR(dim3 grid, size_t smem, cudaStream_t stream, const BtcArgs& args, const DecodePrepArgs& prep) {
  static const bool optIn = [] {
    CUDA_CHECK(cudaFuncSetAttribute(btcDecodePrepKernel<P, R>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(kDecodePrepMaxSmemBytes)));
    return true;
  }();
  (void)optIn;
  launchPdl(btcDecodePrepKernel<P, R>, grid, dim3(kBtcThreads), smem, stream, args, prep);
}

template <int P>
void launchBtcDecodePrep(int r, dim3 grid, size_t smem, cudaStream_t stream, const BtcArgs& args, const DecodePrepArgs& prep) {
  switch (r) {
    case 1: launchBtcDecodePrepR<P, 1>(grid, smem, stream, args, prep); break;
    case 2: launchBtcDecodePrepR<P, 2>(grid, smem, stream, args, prep); break;
    case 4: launchBtcDecodePrepR<P, 4>(grid, smem, stream, args, prep); break;
    case 8: launchBtcDecodePrepR<P, 8>(grid, smem, stream, args, prep); break;
    default: throw AbqError("btcDecodePrepKernel: no variant for " + std::to_string(r) + " rows per token");
  }
  CUDA_CHECK_LAUNCH("btcDecodePrepKernel");
}

/** The wide decode kernel (btc-decode-wide-kernel.cuh) for R rows per token and F activation fragments:
 *  the (R, F) pairs that M <= 16 tokens need (F from decodeWideFragments). Compiled for P <= 4 only. */
template <int P>
void launchBtcDecodeWide(int r, int f, dim3 grid, size_t smem, cudaStream_t stream, const BtcArgs& args) {
  if constexpr (P <= kDecodeWideMaxP) {
#define ABQ_WIDE_CASE(R_, F_)                                                                     \
  if (r == R_ && f == F_) {                                                                       \
    launchPdl(btcDecodeWideKernel<P, R_, F_>, grid, dim3(kBtcThreads), smem, stream, args);       \
    CUDA_CHECK_LAUNCH("btcDecodeWideKernel");                                                     \
    return;                                                                                       \
  }
    ABQ_WIDE_CASE(1, 2)
    ABQ_WIDE_CASE(2, 2) ABQ_WIDE_CASE(2, 4)
    ABQ_WIDE_CASE(4, 2) ABQ_WIDE_CASE(4, 4) ABQ_WIDE_CASE(4, 8)
    ABQ_WIDE_CASE(8, 2) ABQ_WIDE_CASE(8, 4) ABQ_WIDE_CASE(8, 8) ABQ_WIDE_CASE(8, 16)
#undef ABQ_WIDE_CASE
  }
  throw AbqError("btcDecodeWideKernel: no compiled variant for p=" + std::to_string(P) + " rows/token=" +
                 std::to_string(r) + " fragments=" + std::to_string(f));
}

}  // namespace abq

// Instantiates the BTC kernels for 2-bit weights (one file per width: parallel compiles).
#include "btc-inst.cuh"
template void abq::launchBtc<2>(int, int, dim3, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecode<2>(int, bool, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodeWide<2>(int, int, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodePrep<2>(int, dim3, size_t, cudaStream_t, const abq::BtcArgs&, const abq::DecodePrepArgs&);

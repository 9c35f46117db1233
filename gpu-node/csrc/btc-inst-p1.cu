// Instantiates the BTC kernels for 1-bit weights (one file per width: parallel compiles).
#include "btc-inst.cuh"
template void abq::launchBtc<1>(int, int, dim3, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecode<1>(int, bool, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodeWide<1>(int, int, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodePrep<1>(int, dim3, size_t, cudaStream_t, const abq::BtcArgs&, const abq::DecodePrepArgs&);

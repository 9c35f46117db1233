// Instantiates the BTC kernels for 3-bit weights (one file per width: parallel compiles).
#include "btc-inst.cuh"
template void abq::launchBtc<3>(int, int, dim3, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecode<3>(int, bool, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodeWide<3>(int, int, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodePrep<3>(int, dim3, size_t, cudaStream_t, const abq::BtcArgs&, const abq::DecodePrepArgs&);

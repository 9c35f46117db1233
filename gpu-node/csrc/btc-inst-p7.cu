// Instantiates the BTC kernels for 7-bit weights (one file per width: parallel compiles).
#include "btc-inst.cuh"
template void abq::launchBtc<7>(int, int, dim3, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecode<7>(int, bool, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodePrep<7>(int, dim3, size_t, cudaStream_t, const abq::BtcArgs&, const abq::DecodePrepArgs&);

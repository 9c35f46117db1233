// Instantiates the BTC kernels for 8-bit weights (one file per width: parallel compiles).
#include "btc-inst.cuh"
template void abq::launchBtc<8>(int, int, dim3, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecode<8>(int, bool, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodePrep<8>(int, dim3, size_t, cudaStream_t, const abq::BtcArgs&, const abq::DecodePrepArgs&);

// Instantiates the BTC kernels for 6-bit weights (one file per width: parallel compiles).
#include "btc-inst.cuh"
template void abq::launchBtc<6>(int, int, dim3, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecode<6>(int, bool, dim3, size_t, cudaStream_t, const abq::BtcArgs&);
template void abq::launchBtcDecodePrep<6>(int, dim3, size_t, cudaStream_t, const abq::BtcArgs&, const abq::DecodePrepArgs&);

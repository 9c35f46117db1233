// Host entry of the fused activation quantize + bit-plane pack (act-quant.cu).
#pragma once
#include <cuda_fp16.h>
#include <cstdint>

namespace abq {

/** Where actQuantPack writes; all device pointers. */
struct ActQuantOut {
  uint32_t* planes;  // u32 [bits][M][wordsPad]: canonical bit planes, rows padded with zero words
  float* scales;     // f32 [M][groupsA]
  uint8_t* zeros;    // u8  [M][groupsA]
  uint32_t* sums;    // u32 [M][groupsS]: code sums per weight group (the epilogue's Sx)
  int wordsPad;      // row stride of planes in words (>= ceil(K/32)); words past ceil(K/32) are zeroed
};

/** Quantizes fp16 activations x [M][K] per token (or per actGroup) to `bits`-bit codes and packs them. */
void actQuantPack(const __half* x, int m, int k, int bits, int actGroup, int sumGroup, const ActQuantOut& out,
                  cudaStream_t stream);

}  // namespace abq

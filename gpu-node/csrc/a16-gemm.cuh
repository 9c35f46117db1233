// Host entries of the weight-only (A16) path (a16-gemm.cu): fp16 activations times dequantized weights.
#pragma once
#include <cuda_fp16.h>
#include <cstdint>
#include <string>

namespace abq {

/** The half2 (1024 + z, 1024 + z) of a zero point z < 1024: 1024 + z has the fp16 bits 0x6400 | z. */
__host__ __device__ __forceinline__ uint32_t zeroHalf2(uint32_t z) { return (0x6400u | z) * 0x10001u; }

/** Code field width of the A16 tile layout for p-bit weights: 2, 4 or 8 bits. */
int a16FieldBits(int p);
/** K rounded up to whole 16-byte lane loads of the A16 layout (also the padded activation stride). */
int a16PaddedK(int p, int k);
size_t a16TileWords(int p, int n, int k);

/**
 * Load-time repack: canonical planes u32 [p][N][W] + scales f32 [N][G] + zeros u8 [N][G] ->
 * field-packed tiles, scales f32 [G][nPad] and zero points u8 [G][nPad] (a16-gemm.cu header).
 */
void a16Repack(const uint32_t* canon, const float* scales, const uint8_t* zeros, int p, int n, int k, int groupSize,
               uint32_t* tile, float* tScales, uint8_t* tZeros, cudaStream_t stream);

struct A16Problem {
  int m, n, k, p, groupSize;
  const uint32_t* tile; const float* tScales; const uint8_t* tZeros;
  const __half* x;          // [M][K]
  __half* xPadded;          // scratch [M][a16PaddedK] used when K is not a whole number of loads
  float* partial;           // scratch [splits][M][nPad] f32 when splits > 1
  const float* bias;        // [N] or nullptr
  __half* y;                // [M][N]
};
struct A16Plan {
  bool gemv;          // a16GemvKernel (M <= 16, a16-gemv-kernel.cuh) instead of a16Kernel
  int mTiles, splits;
  std::string name;
};
/** Groups must be K or a multiple of 64 (the K permutation unit, a16-gemm.cu). */
bool a16SupportsGroup(int k, int groupSize);
A16Plan a16Plan(const A16Problem& pr, int smCount);
size_t a16PartialFloats(const A16Problem& pr, const A16Plan& plan);
void a16Gemm(const A16Problem& pr, const A16Plan& plan, cudaStream_t stream);

}  // namespace abq

// The BTC weight tile layout, shared by the repack kernel and the GEMM kernels.
//
// Canonical planes (the file):  u32 [p][N][W],  W = ceil(K/32), element k of row n at bit k%32 of
// word k/32 of plane j.  Tile layout (on the GPU, written once at load by btcRepack):
//
//   uint4 [nTiles][kPairs][p][32 lanes]      nTiles = ceil(N/8), kPairs = ceil(W/16)
//
//   one (nTile, kPair, plane j) = 32 lanes x 16 B = 512 B = 8 weight rows x 512 bits
//   lane (g = lane/4, t = lane%4) holds row n = 8 nTile + g, plane j:
//     .x = word 16 kPair + t        (chunk 0, b0)     .y = word 16 kPair + 4 + t      (chunk 0, b1)
//     .z = word 16 kPair + 8 + t    (chunk 1, b0)     .w = word 16 kPair + 12 + t     (chunk 1, b1)
//   i.e. exactly the b0/b1 fragments of two m16n8k256 MMAs, so one coalesced 16-byte load per lane
//   feeds two tensor-core instructions. Rows past N and words past W are zero (popcount adds 0).
#pragma once

namespace abq {

constexpr int kTileN = 8;             // outputs per MMA tile (the n of m16n8k256)
constexpr int kTileM = 16;            // activation plane rows per MMA tile
constexpr int kChunkWords = 8;        // 256 bits of K per MMA
constexpr int kPairWords = 16;        // two chunks per 16-byte lane load
constexpr int kLanes = 32;

inline int ceilDiv(int a, int b) { return (a + b - 1) / b; }

}  // namespace abq

/**
 * Data layouts shared by the SIMD kernels (simd/) and their scalar twins (scalar/). Both builds use
 * the same layouts and the same export signatures, so the host repacks once and picks a build.
 * All pointers are byte offsets into the one linear memory; the host (wasm/src/) owns allocation.
 *
 * 1. Bitwise path ("planes"): weight tiles, row-interleaved by 4
 *
 *    tiles: u32 [nTiles = ceil(N/4)][wd = ceil(K/32)][p][4]
 *
 *      tile t, word w:   plane 0: | row 4t+0 | row 4t+1 | row 4t+2 | row 4t+3 |   <- one v128
 *                        plane 1: | row 4t+0 | row 4t+1 | row 4t+2 | row 4t+3 |
 *                        ...      (each cell: u32 word w of that row's plane, LSB-first as in the file)
 *
 *    One v128 load of a weight plane feeds 4 output rows, and the activation word is broadcast with
 *    v128.load32_splat, so each u32 lane stays one output row: popcounts of the 4 bytes of a lane
 *    are widened pairwise (u8 -> u16 -> u32) into that row's sum, and group boundaries (multiples of
 *    32 elements) never split a lane. Rows past N are zero (their outputs are discarded).
 *
 *    activation planes: u32 [M][wd][q] (the q planes of one word position are adjacent).
 *    Accumulators are kept per shift s = i + j in u8 lanes for as many words as cannot overflow
 *    (255 / (8 * min(p, q))), then widened and shifted by s into i32 lanes.
 *
 * 2. Integer code path ("codes"): weights in byte containers of c = 2, 4 or 8 bits per code
 *
 *    wCodes: u8 [N][vecsPerRow][16]; one 16-byte vector covers E = 128 / c elements:
 *      c = 8: byte b            = element 16v + b
 *      c = 4: byte b, nibble s  = element 32v + 16s + b      (s = 0: low nibble)
 *      c = 2: byte b, crumb s   = element 64v + 16s + b      (s = 0: lowest two bits)
 *    so after masking/shifting one container vector, each 16-byte slice of codes lines up with 16
 *    consecutive activation codes in natural order. A group (a multiple of 32 elements, or K) must
 *    cover whole vectors; the host picks c accordingly. Codes past K are zero.
 *    activation codes: u8 [M][codeStride], natural order, zero past K (codeStride: multiple of 64).
 *    Products are formed with i16x8.extmul_*_i8x16_u and summed in u16 lanes while
 *    (2^p - 1) * (2^q - 1) * products-per-lane cannot pass 65535, then widened to i32.
 *
 * 3. Weight-only path (A16): the same containers as 2; codes are widened to f32, shifted by the
 *    zero point, dotted with f32 activations (u32 [M][xStride], zero past K), scaled per group.
 *
 * 4. Table-lookup path ("lut", T-MAC style, for GEMV with low-bit weights): weight bit planes as
 *    4-bit indices, 16 rows per v128
 *
 *    wLut: u8 [nBlocks = ceil(N/16)][cpPad][p][16], cpPad = 2 * ceil(K/16) ("column pairs" of 4+4)
 *      block t, column pair cp, plane j, byte lane L (= row 16t + L):
 *        low nibble  = bits of plane j at columns 8cp+0..8cp+3 (bit i = column 8cp+i)  -> chunk 2cp
 *        high nibble = columns 8cp+4..8cp+7                                              -> chunk 2cp+1
 *      i.e. byte cp of row 16t+L's plane j (the file's LSB-first words, read as bytes). Rows past N
 *      and columns past K are zero.
 *    tables: u8 [M][2 * cpPad chunks][2][16] (row stride tableStride = 128 * ceil(K/16) bytes):
 *      for chunk c (columns 4c..4c+3) and index i, lo[i] = sum of the low nibbles of x[4c+t] over
 *      the set bits t of i, hi[i] the same for the high nibbles (all <= 60, so four lookups add in u8
 *      lanes without overflow). One i8x16.swizzle of a table by 16 index bytes gives 16 rows' partial
 *      sums; planes combine by Horner (2s + a) in u16 lanes, nibbles as lo + 16 * hi in u32 lanes.
 *
 * 5. Table-lookup path over plane pairs ("lutpairs", for GEMV with even weight bits): the same
 *    tables as 4; weights as 4-bit indices of 8 rows x 2 planes per v128
 *
 *    wPairs: u8 [nBlocks = ceil(N/8)][p/2][cpPad][16]
 *      block t, pair j, column pair cp, byte lane 2L + s (L = 0..7: row 8t + L; s = 0, 1: plane 2j + s):
 *        byte cp of that row's plane (low nibble: columns 8cp..8cp+3, high nibble: 8cp+4..8cp+7),
 *      so one lookup gives both planes of a row in adjacent bytes, and one pairwise widening
 *      (even + odd) plus the odd byte again gives plane 2j + 2 x plane 2j+1 in that row's u16 lane.
 *      A pair's column pairs are contiguous, so a block streams linearly, pair after pair.
 *      Rows past N and columns past K are zero.
 *
 * Accumulators (1, 2, 4, 5): u32 [M][G][nPad] (nPad = 4 * nTiles), the transposed of the reference's
 * [M][N][G], so one v128 store writes a tile's 4 rows. Epilogue parameters are [G][nPad] for the
 * same reason (SIMD across rows).
 */

/** Bytes in one v128. */
export const VEC_BYTES: i32 = 16;
/** Output rows interleaved in one bitwise weight tile (u32 lanes per v128). */
export const TILE_ROWS: i32 = 4;
/** Elements per u32 plane word. */
export const WORD_BITS: i32 = 32;

/** Elements covered by one 16-byte container vector of `containerBits`-bit codes. */
// @ts-ignore: decorator
@inline export function elemsPerVec(containerBits: i32): i32 {
  return (VEC_BYTES * 8) / containerBits;
}

/** Output rows per table-lookup block (byte lanes per v128). */
export const LUT_ROWS: i32 = 16;
/** Column pairs (8 columns) per table-lookup step: four 4-column chunks, four u8 lookups per lane. */
export const LUT_STEP_CPS: i32 = 2;
/** Output rows per plane-pair lookup block (two byte lanes per row). */
export const LUT_PAIR_ROWS: i32 = 8;

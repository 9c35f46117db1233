/**
 * Bit-plane packing: the canonical layout of quantized codes in the packed format.
 *
 * Codes are unsigned integers of `bits` bits (1..8), one per element of a [rows, K] matrix. They are
 * stored as `bits` planes; plane b holds bit b of every code. Each row of a plane is ceil(K/32)
 * little-endian u32 words, LSB-first: element k sits at bit (k % 32) of word floor(k / 32).
 *
 *   planes: u32 [bits][rows][wordsPerRow(K)]
 *
 *   row r, plane b:  word 0                      word 1              ...
 *                    bit0 = code[r][0] >> b & 1  bit0 = code[r][32] >> b & 1
 *                    bit31= code[r][31]>> b & 1  ...
 *
 * Padding: when K is not a multiple of 32, the bits of the last word past K are zero in every plane.
 * Readers may rely on that (a popcount over a whole word then counts only real elements) and the
 * format validator rejects files where it does not hold.
 */

export const BITS_PER_WORD = 32;
export const MIN_BITS = 1;
export const MAX_BITS = 8;

/** Number of u32 words per row of one plane. */
export function wordsPerRow(k: number): number {
  return Math.ceil(k / BITS_PER_WORD);
}

/** Number of u32 words in all planes of a [rows, K] matrix. */
export function planeWords(bits: number, rows: number, k: number): number {
  return bits * rows * wordsPerRow(k);
}

export function assertBits(bits: number, what = 'bits'): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new RangeError(`${what} must be an integer in ${MIN_BITS}..${MAX_BITS}, got ${bits}`);
  }
}

/**
 * Packs codes (row-major [rows, K], each < 2^bits) into bit planes.
 * Throws if a code does not fit in `bits` bits.
 */
export function packBitPlanes(
  codes: Uint8Array,
  rows: number,
  k: number,
  bits: number,
  out = new Uint32Array(planeWords(bits, rows, k)),
): Uint32Array {
  assertBits(bits);
  if (codes.length < rows * k) throw new RangeError(`codes has ${codes.length} elements, need ${rows}x${k}`);
  const wpr = wordsPerRow(k);
  const planeStride = rows * wpr;
  if (out.length < bits * planeStride) throw new RangeError('output plane buffer too small');
  out.fill(0, 0, bits * planeStride);
  const limit = 1 << bits;
  for (let r = 0; r < rows; r++) {
    const rowBase = r * k;
    for (let w = 0; w < wpr; w++) {
      const k0 = w * BITS_PER_WORD;
      const k1 = Math.min(k, k0 + BITS_PER_WORD);
      // Gather one word per plane at once: a transpose of up to 32 codes into `bits` words.
      let p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0, p6 = 0, p7 = 0;
      for (let kk = k0; kk < k1; kk++) {
        const c = codes[rowBase + kk];
        if (c >= limit) throw new RangeError(`code ${c} at [${r}, ${kk}] does not fit in ${bits} bits`);
        const bit = kk - k0;
        p0 |= (c & 1) << bit;
        p1 |= ((c >>> 1) & 1) << bit;
        p2 |= ((c >>> 2) & 1) << bit;
        p3 |= ((c >>> 3) & 1) << bit;
        p4 |= ((c >>> 4) & 1) << bit;
        p5 |= ((c >>> 5) & 1) << bit;
        p6 |= ((c >>> 6) & 1) << bit;
        p7 |= ((c >>> 7) & 1) << bit;
      }
      const idx = r * wpr + w;
      const planesWord = [p0, p1, p2, p3, p4, p5, p6, p7];
      for (let b = 0; b < bits; b++) out[b * planeStride + idx] = planesWord[b] >>> 0;
    }
  }
  return out;
}

/** Unpacks bit planes back into codes (row-major [rows, K]). */
export function unpackBitPlanes(
  planes: Uint32Array,
  rows: number,
  k: number,
  bits: number,
  out = new Uint8Array(rows * k),
): Uint8Array {
  assertBits(bits);
  const wpr = wordsPerRow(k);
  const planeStride = rows * wpr;
  if (planes.length < bits * planeStride) throw new RangeError('plane buffer too small for the shape');
  for (let r = 0; r < rows; r++) {
    for (let kk = 0; kk < k; kk++) {
      const w = r * wpr + (kk >>> 5);
      const bit = kk & 31;
      let c = 0;
      for (let b = 0; b < bits; b++) c |= ((planes[b * planeStride + w] >>> bit) & 1) << b;
      out[r * k + kk] = c;
    }
  }
  return out;
}

/** True when every padding bit (past K in the last word of each row) is zero in every plane. */
export function paddingIsZero(planes: Uint32Array, rows: number, k: number, bits: number): boolean {
  const tail = k % BITS_PER_WORD;
  if (tail === 0) return true;
  const wpr = wordsPerRow(k);
  const mask = ~((1 << tail) - 1) >>> 0;
  for (let b = 0; b < bits; b++) {
    for (let r = 0; r < rows; r++) {
      if ((planes[(b * rows + r) * wpr + wpr - 1] & mask) !== 0) return false;
    }
  }
  return true;
}

/** Population count of a 32-bit word. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

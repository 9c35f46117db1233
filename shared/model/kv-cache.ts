/**
 * Per-layer key/value cache of one sequence. Layout per layer: [position][kvHead][headDim] f32, so
 * appending a token writes one contiguous row and attention reads rows in position order.
 * Storage grows by doubling up to `maxSeq`, so a cache for a 128k-context model costs only what is used.
 */

const INITIAL_CAPACITY = 64;

export class KvCache {
  /** Number of positions already stored (the position of the next token). */
  length = 0;
  private capacity = 0;
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** Floats per position in one layer: kvHeads * headDim. */
  readonly rowSize: number;

  constructor(readonly numLayers: number, readonly kvHeads: number, readonly headDim: number, readonly maxSeq: number) {
    this.rowSize = kvHeads * headDim;
    this.keys = new Array(numLayers);
    this.values = new Array(numLayers);
    this.grow(Math.min(INITIAL_CAPACITY, maxSeq));
  }

  /** Makes room for `n` more positions; throws when the sequence would pass maxSeq. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need > this.maxSeq) {
      throw new Error(`KvCache: ${need} positions exceed the cache limit of ${this.maxSeq} (start a new cache or pass a larger maxSeq to newCache)`);
    }
    if (need > this.capacity) this.grow(Math.min(this.maxSeq, Math.max(need, this.capacity * 2)));
  }

  /** Forgets positions >= `length` (e.g. to rerun a prompt suffix). */
  truncate(length: number): void {
    if (length < 0 || length > this.length) throw new Error(`KvCache.truncate: ${length} is outside 0..${this.length}`);
    this.length = length;
  }

  private grow(capacity: number): void {
    for (let l = 0; l < this.numLayers; l++) {
      const k = new Float32Array(capacity * this.rowSize);
      const v = new Float32Array(capacity * this.rowSize);
      if (this.keys[l]) {
        k.set(this.keys[l].subarray(0, this.length * this.rowSize));
        v.set(this.values[l].subarray(0, this.length * this.rowSize));
      }
      this.keys[l] = k;
      this.values[l] = v;
    }
    this.capacity = capacity;
  }
}

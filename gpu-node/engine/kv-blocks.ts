/**
 * The paged KV cache's bookkeeping (the scheduler's side of batch-engine.ts): `numBlocks` blocks of
 * `blockSize` token positions, a free list, and one block table per sequence. Block `table[i]` holds
 * positions [i * blockSize, (i + 1) * blockSize). Tables only grow (by token count) until the
 * sequence finishes, is cancelled or is preempted, which frees all of its blocks at once.
 *
 * Allocation is all-or-nothing: `grow` either covers the requested token count or changes nothing,
 * so a failed grow never leaves a half-extended table behind.
 *
 * Tables are Int32Arrays with spare capacity, and `table()` hands out a cached view of the used part:
 * the scheduler passes it to every step without allocating (at batch 256 per-step allocations were
 * most of its cost). A view stays valid, unchanged, until that sequence's next grow or release.
 */

interface Table {
  ids: Int32Array;
  length: number;
  view: Int32Array;
}

const INITIAL_CAPACITY = 8;
const EMPTY = new Int32Array(0);

export class BlockAllocator {
  /** Free block ids; popped from the end, so recently freed blocks are reused first. */
  private readonly freeList: number[];
  private readonly tables = new Map<number, Table>();

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks ${numBlocks} must be a positive integer`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize ${blockSize} must be a positive integer`);
    // Highest id first in the array, so the first allocations get ids 0, 1, 2, ...
    this.freeList = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  get free(): number {
    return this.freeList.length;
  }

  /** Blocks needed to hold `tokens` positions. */
  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockSize);
  }

  /** Blocks `seqId` holds now (0 when it holds none). */
  held(seqId: number): number {
    return this.tables.get(seqId)?.length ?? 0;
  }

  /** Extra blocks `seqId` would need to hold `tokens` positions. */
  missing(seqId: number, tokens: number): number {
    return Math.max(0, this.blocksFor(tokens) - this.held(seqId));
  }

  /** Makes `seqId`'s table cover `tokens` positions; false (and no change) when too few blocks are free. */
  grow(seqId: number, tokens: number): boolean {
    const need = this.missing(seqId, tokens);
    if (need > this.freeList.length) return false;
    if (need === 0) return true;
    let t = this.tables.get(seqId);
    if (!t) {
      const ids = new Int32Array(Math.max(INITIAL_CAPACITY, need));
      this.tables.set(seqId, (t = { ids, length: 0, view: ids.subarray(0, 0) }));
    }
    if (t.length + need > t.ids.length) {
      const ids = new Int32Array(Math.max(t.ids.length * 2, t.length + need));
      ids.set(t.ids.subarray(0, t.length));
      t.ids = ids;
    }
    for (let i = 0; i < need; i++) t.ids[t.length++] = this.freeList.pop()!;
    t.view = t.ids.subarray(0, t.length);
    return true;
  }

  /** `seqId`'s block table in position order (a shared view: read it, do not write it). */
  table(seqId: number): Int32Array {
    return this.tables.get(seqId)?.view ?? EMPTY;
  }

  /** Returns every block of `seqId` to the free list (a no-op for a sequence holding none). */
  release(seqId: number): void {
    const t = this.tables.get(seqId);
    if (!t) return;
    this.tables.delete(seqId);
    for (let i = t.length - 1; i >= 0; i--) this.freeList.push(t.ids[i]);
  }

  /** Sequences holding blocks now. */
  get sequences(): number {
    return this.tables.size;
  }
}

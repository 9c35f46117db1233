/**
 * A bump allocator over the engine's one WebAssembly.Memory. Buffers are byte offsets aligned to
 * 16 (one v128); views are made on demand because growing the memory replaces its ArrayBuffer.
 */

export const WASM_PAGE_BYTES = 65536;
/** Alignment of every buffer: one v128, so SIMD loads of a buffer start never straddle it. */
export const BUFFER_ALIGN = 16;
/** WebAssembly 32-bit memories stop at 4 GiB (65536 pages). */
export const MAX_PAGES = 65536;

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

export class Arena {
  private top: number;

  constructor(readonly memory: WebAssembly.Memory, base: number) {
    this.top = alignUp(base, BUFFER_ALIGN);
  }

  /** Creates a memory of at least `bytes` (so a model's arena never needs to grow). */
  static createMemory(bytes: number, shared = false): WebAssembly.Memory {
    const pages = Math.ceil(bytes / WASM_PAGE_BYTES) + 1;
    if (pages > MAX_PAGES) {
      throw new RangeError(`the model needs ${(bytes / 2 ** 30).toFixed(2)} GiB of WASM memory; the limit is 4 GiB: use fewer bits or a smaller model`);
    }
    return new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared });
  }

  get used(): number {
    return this.top;
  }

  /**
   * Reserves `bytes`, growing the memory when needed. Zero-filled unless `zero` is false (for buffers
   * the caller overwrites whole: a region freed by release() holds old data).
   */
  alloc(bytes: number, zero = true): number {
    const ptr = this.top;
    const end = alignUp(ptr + Math.max(bytes, 0), BUFFER_ALIGN);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / WASM_PAGE_BYTES);
      if (have / WASM_PAGE_BYTES + pages > MAX_PAGES) throw new RangeError(`WASM memory would pass 4 GiB allocating ${bytes} bytes`);
      this.memory.grow(pages);
    }
    if (zero) new Uint8Array(this.memory.buffer, ptr, end - ptr).fill(0);
    this.top = end;
    return ptr;
  }

  /** Frees everything allocated after `mark` (a value of `used`). */
  release(mark: number): void {
    this.top = mark;
  }

  f32(ptr: number, len: number): Float32Array { return new Float32Array(this.memory.buffer, ptr, len); }
  u32(ptr: number, len: number): Uint32Array { return new Uint32Array(this.memory.buffer, ptr, len); }
  i32(ptr: number, len: number): Int32Array { return new Int32Array(this.memory.buffer, ptr, len); }
  u8(ptr: number, len: number): Uint8Array { return new Uint8Array(this.memory.buffer, ptr, len); }

  /** Allocates and copies a typed array in; returns its pointer. */
  put(data: ArrayBufferView): number {
    const ptr = this.alloc(data.byteLength, false);
    new Uint8Array(this.memory.buffer, ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return ptr;
  }
}

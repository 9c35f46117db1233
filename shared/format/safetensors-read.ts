/**
 * Reads a whole safetensors file held in memory (runtime-free: Node, browsers, workerd).
 *
 * `parseSafetensors` validates everything up front (see safetensors-header.ts) and then hands out
 * views: `bytes()` is always zero-copy; typed accessors are zero-copy when the tensor is aligned to
 * its element size in memory (files from our writer always are, if the input itself starts on an
 * 8-byte boundary), and copy only for unaligned data or F16/BF16 -> f32 decoding.
 *
 * @example
 *   const st = parseSafetensors(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 *   const w = st.f32('model.norm.weight');
 */
import { AbqFormatError } from './errors.ts';
import { DTYPES, HOST_IS_LITTLE_ENDIAN, type Dtype, type TypedArray } from './dtypes.ts';
import { HEADER_LENGTH_BYTES, parseHeader, readHeaderLength, type TensorInfo } from './safetensors-header.ts';
import { TensorIndex } from './tensor-index.ts';

export type { TensorInfo } from './safetensors-header.ts';

/** Validates `bytes` as a safetensors file; throws AbqFormatError on any broken rule. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsBuffer {
  const n = readHeaderLength(bytes, bytes.length);
  const header = parseHeader(bytes.subarray(HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + n), bytes.length - HEADER_LENGTH_BYTES - n);
  return new SafetensorsBuffer(bytes.subarray(header.dataOffset), header.tensors, header.metadata);
}

export class SafetensorsBuffer extends TensorIndex {
  /** Use parseSafetensors; the constructor trusts its (already validated) arguments. */
  constructor(
    /** The data buffer (everything after the header). */
    readonly data: Uint8Array,
    tensors: readonly TensorInfo[],
    readonly metadata: Record<string, string>,
  ) {
    super(tensors, () => `this file (it has ${tensors.length} tensors)`);
  }

  /** The raw little-endian bytes (zero-copy view). */
  bytes(name: string): Uint8Array {
    const t = this.info(name);
    return this.data.subarray(t.begin, t.end);
  }

  /** The elements as the dtype table's typed array (F16/BF16 as u16 bits): a view when aligned, else a copy. */
  view(name: string): TypedArray {
    return typedView(this.info(name), this.bytes(name));
  }

  /** F32 as a view when aligned (else a copy); F16 and BF16 decoded to a new Float32Array. */
  f32(name: string): Float32Array {
    return toF32(this.info(name), this.bytes(name));
  }

  u32(name: string): Uint32Array {
    return typedView(expectDtype(this.info(name), ['U32']), this.bytes(name)) as Uint32Array;
  }

  /** U8 (or BOOL) bytes, zero-copy. */
  u8(name: string): Uint8Array {
    expectDtype(this.info(name), ['U8', 'BOOL']);
    return this.bytes(name);
  }

  /** Raw F16 bit patterns. */
  f16bits(name: string): Uint16Array {
    return typedView(expectDtype(this.info(name), ['F16']), this.bytes(name)) as Uint16Array;
  }
}

/** Throws WRONG_DTYPE unless the tensor has one of the given dtypes. */
export function expectDtype(t: TensorInfo, allowed: readonly Dtype[]): TensorInfo {
  if (!allowed.includes(t.dtype)) {
    throw new AbqFormatError('WRONG_DTYPE', `is ${t.dtype}, but was read as ${allowed.join(' or ')}`, t.name);
  }
  return t;
}

/** Typed view of a tensor's bytes per the dtype table; copies when the bytes are not aligned. */
export function typedView(t: TensorInfo, bytes: Uint8Array): TypedArray {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new Error('typed views of safetensors data need a little-endian host; use bytes() and a DataView instead');
  }
  const { array, bytes: size } = DTYPES[t.dtype];
  const length = bytes.length / size;
  if (bytes.byteOffset % size === 0) return new array(bytes.buffer, bytes.byteOffset, length);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new array(copy.buffer, 0, length);
}

/** A tensor as f32: F32 viewed (or copied when unaligned), F16/BF16 decoded; other dtypes throw WRONG_DTYPE. */
export function toF32(t: TensorInfo, bytes: Uint8Array): Float32Array {
  const decode = DTYPES[t.dtype].decodeToF32;
  if (decode) return decode(typedView(t, bytes) as Uint16Array);
  return typedView(expectDtype(t, ['F32', 'F16', 'BF16']), bytes) as Float32Array;
}

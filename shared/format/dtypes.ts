/**
 * The dtype table: one row per element type a safetensors file may hold (names as safetensors spells
 * them). Generic code reads this table and never switches on a dtype name; F16 and BF16 are the only
 * rows with a decoder to f32 (the `decodeToF32` column).
 *
 * All multi-byte types are little-endian in the file. Typed-array views over file bytes are only
 * made on little-endian hosts (every platform we run on); `HOST_IS_LITTLE_ENDIAN` guards that.
 */
import { decodeBf16, decodeF16Table } from './f16.ts';

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'U64' | 'I32' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL';

export type TypedArray =
  | Float64Array | Float32Array | BigInt64Array | BigUint64Array
  | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

export interface TypedArrayCtor {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
  new (length: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
}

export interface DtypeInfo {
  name: Dtype;
  /** Bytes per element (also the alignment a zero-copy view needs). */
  bytes: number;
  /** The typed array that views the raw little-endian elements (F16/BF16 as their u16 bit patterns). */
  array: TypedArrayCtor;
  /** Decoder from the raw u16 bits to f32, for the half-precision types only. */
  decodeToF32?: (src: Uint16Array) => Float32Array;
}

export const DTYPES: Readonly<Record<Dtype, DtypeInfo>> = {
  F64: { name: 'F64', bytes: 8, array: Float64Array },
  F32: { name: 'F32', bytes: 4, array: Float32Array },
  F16: { name: 'F16', bytes: 2, array: Uint16Array, decodeToF32: decodeF16Table },
  BF16: { name: 'BF16', bytes: 2, array: Uint16Array, decodeToF32: decodeBf16 },
  I64: { name: 'I64', bytes: 8, array: BigInt64Array },
  U64: { name: 'U64', bytes: 8, array: BigUint64Array },
  I32: { name: 'I32', bytes: 4, array: Int32Array },
  U32: { name: 'U32', bytes: 4, array: Uint32Array },
  I16: { name: 'I16', bytes: 2, array: Int16Array },
  U16: { name: 'U16', bytes: 2, array: Uint16Array },
  I8: { name: 'I8', bytes: 1, array: Int8Array },
  U8: { name: 'U8', bytes: 1, array: Uint8Array },
  BOOL: { name: 'BOOL', bytes: 1, array: Uint8Array },
};

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isDtype(name: unknown): name is Dtype {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, name);
}

export function dtypeInfo(name: Dtype): DtypeInfo {
  return DTYPES[name];
}

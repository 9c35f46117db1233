/**
 * Plans a safetensors file from declared tensor specs before any data exists (runtime-free), so a
 * writer can emit the header first and then stream tensors.
 *
 * Order: dtype size descending, then name (code-unit order). With the header padded by spaces to a
 * multiple of 8, the buffer starts 8-aligned and every tensor starts on a multiple of its own
 * element size, so readers can view it without copying.
 */
import { AbqFormatError } from './errors.ts';
import { DTYPES, HOST_IS_LITTLE_ENDIAN, isDtype, type Dtype } from './dtypes.ts';
import { HEADER_LENGTH_BYTES, MAX_HEADER_BYTES, METADATA_KEY, checkedElementCount, type TensorInfo } from './safetensors-header.ts';

/** Header (and so data buffer) alignment. */
export const HEADER_ALIGN = 8;
const SPACE = 0x20;

export interface TensorSpec {
  name: string;
  dtype: Dtype;
  shape: readonly number[];
}

export interface SafetensorsLayout {
  /** The length prefix and the padded header: the first `dataOffset` bytes of the file. */
  prefix: Uint8Array;
  dataOffset: number;
  /** Tensors in the order they are stored (and must be written), with their offsets. */
  order: TensorInfo[];
  dataLength: number;
  fileLength: number;
}

/** Byte order of tensors in a file: larger elements first, then by name. */
export function compareTensorSpecs(a: TensorSpec, b: TensorSpec): number {
  return DTYPES[b.dtype].bytes - DTYPES[a.dtype].bytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Validates specs and metadata, orders the tensors and builds the header bytes. */
export function planSafetensorsLayout(specs: readonly TensorSpec[], metadata?: Record<string, string>): SafetensorsLayout {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('writing safetensors from typed arrays needs a little-endian host (the file is little-endian)');
  const seen = new Set<string>();
  for (const s of specs) {
    if (typeof s.name !== 'string' || s.name.length === 0 || s.name === METADATA_KEY) {
      throw new AbqFormatError('INVALID_TENSOR_INFO', `tensor name must be a non-empty string other than ${METADATA_KEY}`, String(s.name));
    }
    if (seen.has(s.name)) throw new AbqFormatError('DUPLICATE_KEY', 'declared twice; each tensor name must be unique', s.name);
    seen.add(s.name);
    if (!isDtype(s.dtype)) throw new AbqFormatError('UNKNOWN_DTYPE', `dtype "${String(s.dtype)}" is not in the dtype table`, s.name);
    if (!Array.isArray(s.shape) || !s.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new AbqFormatError('INVALID_TENSOR_INFO', `shape must be non-negative integers, got ${JSON.stringify(s.shape)}`, s.name);
    }
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new AbqFormatError('INVALID_METADATA', `metadata value of "${k}" must be a string, got ${typeof v}`);
    }
  }
  const sorted = [...specs].sort(compareTensorSpecs);
  const order: TensorInfo[] = [];
  let offset = 0;
  for (const s of sorted) {
    const bytes = checkedElementCount(s.shape, s.name) * DTYPES[s.dtype].bytes;
    if (!Number.isSafeInteger(offset + bytes)) throw new AbqFormatError('SHAPE_OVERFLOW', 'file would exceed 2^53 bytes', s.name);
    order.push({ name: s.name, dtype: s.dtype, shape: [...s.shape], begin: offset, end: offset + bytes });
    offset += bytes;
  }
  const entries: string[] = [];
  if (metadata && Object.keys(metadata).length > 0) entries.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  for (const t of order) {
    entries.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${t.begin},${t.end}]}`);
  }
  const json = new TextEncoder().encode(`{${entries.join(',')}}`);
  const headerLength = Math.ceil(json.length / HEADER_ALIGN) * HEADER_ALIGN;
  if (headerLength > MAX_HEADER_BYTES) {
    throw new AbqFormatError('HEADER_TOO_LARGE', `header would be ${headerLength} bytes, over MAX_HEADER_BYTES (${MAX_HEADER_BYTES}); use fewer tensors or less metadata`);
  }
  const dataOffset = HEADER_LENGTH_BYTES + headerLength;
  const prefix = new Uint8Array(dataOffset).fill(SPACE, HEADER_LENGTH_BYTES + json.length);
  new DataView(prefix.buffer).setUint32(0, headerLength, true); // high word stays 0: headerLength < 2^32
  new DataView(prefix.buffer).setUint32(4, 0, true);
  prefix.set(json, HEADER_LENGTH_BYTES);
  return { prefix, dataOffset, order, dataLength: offset, fileLength: dataOffset + offset };
}

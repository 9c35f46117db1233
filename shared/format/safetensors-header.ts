/**
 * The safetensors container rules, shared by the in-memory reader and the file reader (runtime-free).
 *
 *   offset 0      u64 little-endian N: header length in bytes
 *   offset 8      N bytes of UTF-8 JSON: { name: {dtype, shape, data_offsets: [begin, end]}, ...,
 *                 "__metadata__"?: { string: string } }, may end in space padding
 *   offset 8 + N  the data buffer; tensor offsets are relative to it
 *
 * Every check below has its own AbqFormatError code. Sizes use checked integer maths
 * (Number.isSafeInteger), and the tensors must tile the buffer exactly: sorted by offset, each one
 * starts where the previous ended, the first at 0 and the last at the buffer's end, so a file never
 * hides bytes and never needs more memory than its own size.
 */
import { AbqFormatError } from './errors.ts';
import { DTYPES, isDtype, type Dtype } from './dtypes.ts';
import { parseJsonStrict } from './json-strict.ts';

/** Bytes of the length prefix. */
export const HEADER_LENGTH_BYTES = 8;
/** Largest header accepted (as safetensors does): a bigger one is a denial-of-service attempt. */
export const MAX_HEADER_BYTES = 100_000_000;
/** Key of the string-to-string metadata map in the header. */
export const METADATA_KEY = '__metadata__';
/** Smallest header: "{}". */
const MIN_HEADER_BYTES = 2;
const TENSOR_INFO_KEYS = ['dtype', 'shape', 'data_offsets'] as const;

/** A tensor's entry; begin/end are byte offsets into the data buffer (not the file). */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Bytes of the JSON header (N). */
  headerLength: number;
  /** Offset of the data buffer in the file: 8 + N. */
  dataOffset: number;
  /** Tensors in buffer order (ascending begin). */
  tensors: TensorInfo[];
  metadata: Record<string, string>;
}

/**
 * Reads the length prefix from the first 8 bytes of a file of `fileLength` bytes and checks that the
 * header it announces fits. Returns N.
 */
export function readHeaderLength(prefix: Uint8Array, fileLength: number): number {
  if (prefix.length < HEADER_LENGTH_BYTES || fileLength < HEADER_LENGTH_BYTES) {
    throw new AbqFormatError('HEADER_TOO_SMALL', `file has ${fileLength} bytes, fewer than the ${HEADER_LENGTH_BYTES}-byte length prefix`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, HEADER_LENGTH_BYTES);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_BYTES) {
    const n = hi * 2 ** 32 + lo;
    throw new AbqFormatError('HEADER_TOO_LARGE', `header length ${n} exceeds MAX_HEADER_BYTES (${MAX_HEADER_BYTES})`);
  }
  if (lo < MIN_HEADER_BYTES) {
    throw new AbqFormatError('HEADER_TOO_SMALL', `header length ${lo} is below ${MIN_HEADER_BYTES} (the smallest header is "{}")`);
  }
  if (HEADER_LENGTH_BYTES + lo > fileLength) {
    throw new AbqFormatError('INVALID_HEADER_LENGTH', `header length ${lo} runs past the end of the ${fileLength}-byte file (truncated?)`);
  }
  return lo;
}

/** Element count of a shape with checked maths; throws SHAPE_OVERFLOW. */
export function checkedElementCount(shape: readonly number[], name: string): number {
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count)) {
      throw new AbqFormatError('SHAPE_OVERFLOW', `shape [${shape.join(', ')}] has more than 2^53 elements`, name);
    }
  }
  return count;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses and validates the N header bytes, given the length of the data buffer that follows them
 * (fileLength - 8 - N). Throws AbqFormatError on any broken rule.
 */
export function parseHeader(headerBytes: Uint8Array, bufferLength: number): SafetensorsHeader {
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    throw new AbqFormatError('INVALID_JSON', 'header is not valid UTF-8');
  }
  const json = parseJsonStrict(text, 'header');
  if (headerBytes[0] !== 0x7b || json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new AbqFormatError('HEADER_NOT_OBJECT', 'header must be a JSON object whose first byte is "{"');
  }
  let metadata: Record<string, string> = Object.create(null);
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) metadata = parseMetadata(entry);
    else tensors.push(parseTensorInfo(name, entry, bufferLength));
  }
  checkTiling(tensors, bufferLength);
  return { headerLength: headerBytes.length, dataOffset: HEADER_LENGTH_BYTES + headerBytes.length, tensors, metadata };
}

function parseMetadata(entry: unknown): Record<string, string> {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new AbqFormatError('INVALID_METADATA', `${METADATA_KEY} must be an object of strings, got ${describe(entry)}`);
  }
  const out: Record<string, string> = Object.create(null); // keys may be "__proto__"
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof v !== 'string') {
      throw new AbqFormatError('INVALID_METADATA', `${METADATA_KEY}.${k} must be a string, got ${describe(v)}`);
    }
    out[k] = v;
  }
  return out;
}

function parseTensorInfo(name: string, entry: unknown, bufferLength: number): TensorInfo {
  const bad = (why: string) => new AbqFormatError('INVALID_TENSOR_INFO', why, name);
  if (name.length === 0) throw bad('tensor names must not be empty');
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw bad(`entry must be an object {dtype, shape, data_offsets}, got ${describe(entry)}`);
  }
  const e = entry as Record<string, unknown>;
  for (const key of Object.keys(e)) {
    if (!(TENSOR_INFO_KEYS as readonly string[]).includes(key)) throw bad(`unexpected key "${key}" (allowed: ${TENSOR_INFO_KEYS.join(', ')})`);
  }
  const { dtype, shape, data_offsets: offsets } = e;
  if (typeof dtype !== 'string') throw bad(`dtype must be a string, got ${describe(dtype)}`);
  if (!isDtype(dtype)) {
    throw new AbqFormatError('UNKNOWN_DTYPE', `dtype "${dtype}" is not supported (known: ${Object.keys(DTYPES).join(', ')})`, name);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInt)) {
    throw bad(`shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt) || offsets[0] > offsets[1]) {
    throw bad(`data_offsets must be [begin, end] with integers 0 <= begin <= end, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as number[];
  const byteCount = checkedElementCount(shape, name) * DTYPES[dtype].bytes;
  if (!Number.isSafeInteger(byteCount)) {
    throw new AbqFormatError('SHAPE_OVERFLOW', `shape [${shape.join(', ')}] of ${dtype} has more than 2^53 bytes`, name);
  }
  if (end > bufferLength) {
    throw new AbqFormatError('OFFSETS_OUT_OF_BOUNDS', `data_offsets [${begin}, ${end}] run past the ${bufferLength}-byte data buffer (truncated file?)`, name);
  }
  if (end - begin !== byteCount) {
    throw new AbqFormatError('SIZE_MISMATCH', `data_offsets span ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${byteCount}`, name);
  }
  return { name, dtype, shape: shape.slice(), begin, end };
}

/** Sorts tensors by offset (in place) and checks they cover [0, bufferLength) with no hole or overlap. */
function checkTiling(tensors: TensorInfo[], bufferLength: number): void {
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : 1));
  let expected = 0;
  for (const t of tensors) {
    if (t.begin !== expected) {
      const what = t.begin < expected ? `overlaps the previous tensor (which ends at ${expected})` : `leaves a hole after offset ${expected}`;
      throw new AbqFormatError('OFFSETS_NOT_CONTIGUOUS', `starts at ${t.begin} and ${what}`, t.name);
    }
    expected = t.end;
  }
  if (expected !== bufferLength) {
    throw new AbqFormatError('OFFSETS_NOT_CONTIGUOUS', `tensors cover ${expected} bytes of a ${bufferLength}-byte data buffer: ${bufferLength - expected} bytes are not part of any tensor`);
  }
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

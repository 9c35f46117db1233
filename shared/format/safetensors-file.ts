/**
 * Reads a safetensors file from disk on demand (Node only): the 8-byte length, then the header, then
 * each tensor by position when asked, so a 7B model never sits in memory whole. The same container
 * rules as parseSafetensors apply, plus: the file's length must equal 8 + N + the buffer the tensors
 * tile (checked through the tiling rule against the real file size).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { AbqFormatError } from './errors.ts';
import type { TypedArray } from './dtypes.ts';
import { HEADER_LENGTH_BYTES, parseHeader, readHeaderLength, type TensorInfo } from './safetensors-header.ts';
import { TensorIndex } from './tensor-index.ts';
import { toF32, typedView } from './safetensors-read.ts';

/** Largest single read() call (Node rejects reads over 2 GiB). */
const MAX_READ_BYTES = 1 << 30;

export interface SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** Offset of the data buffer in the file (8 + N). */
  readonly dataOffset: number;
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** The tensor's bytes, in a fresh (hence aligned) buffer. */
  readBytes(name: string): Promise<Uint8Array>;
  /** F32 as is, F16/BF16 decoded; other dtypes throw WRONG_DTYPE. */
  readF32(name: string): Promise<Float32Array>;
  /** The elements as the dtype table's typed array (F16/BF16 as u16 bits). */
  readView(name: string): Promise<TypedArray>;
  close(): Promise<void>;
}

/** Opens and validates a safetensors file; throws AbqFormatError for a malformed one (closing it first). */
export async function openSafetensorsFile(path: string): Promise<SafetensorsFile> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const prefix = await readExactly(fh, 0, Math.min(HEADER_LENGTH_BYTES, size));
    const n = readHeaderLength(prefix, size);
    const header = parseHeader(await readExactly(fh, HEADER_LENGTH_BYTES, n), size - HEADER_LENGTH_BYTES - n);
    return new OpenSafetensorsFile(path, fh, header.dataOffset, header.tensors, header.metadata);
  } catch (e) {
    await fh.close();
    throw e;
  }
}

class OpenSafetensorsFile extends TensorIndex implements SafetensorsFile {
  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly dataOffset: number,
    tensors: readonly TensorInfo[],
    readonly metadata: Record<string, string>,
  ) {
    super(tensors, () => path);
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    return readExactly(this.fh, this.dataOffset + t.begin, t.end - t.begin, this.path);
  }

  async readF32(name: string): Promise<Float32Array> {
    return toF32(this.info(name), await this.readBytes(name));
  }

  async readView(name: string): Promise<TypedArray> {
    return typedView(this.info(name), await this.readBytes(name));
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** Reads `length` bytes at `position` into a new buffer; a short file is OFFSETS_OUT_OF_BOUNDS (it shrank under us). */
async function readExactly(fh: FileHandle, position: number, length: number, path = 'file'): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(out, done, Math.min(MAX_READ_BYTES, length - done), position + done);
    if (bytesRead === 0) {
      throw new AbqFormatError('OFFSETS_OUT_OF_BOUNDS', `${path} ended at ${position + done} while reading ${length} bytes at ${position} (was it truncated while open?)`);
    }
    done += bytesRead;
  }
  return out;
}

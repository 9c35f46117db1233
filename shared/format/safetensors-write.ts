/**
 * Writes safetensors files without holding them in memory (Node only), plus a re-export of the
 * in-memory serializeSafetensors.
 *
 * The header is computed first from the declared specs (safetensors-layout.ts), so every tensor's
 * offset is known before any data arrives. Chunks are then written at their final position: tensors
 * may arrive in any order (a quantizer hands over layers as it finishes them), but each tensor's own
 * chunks must come in sequence, and each is size-checked. Everything goes to a temp file in the same
 * directory, which finish() fsyncs and renames over the target; abort(), and any error raised by the
 * writer, removes it. A crash leaves at most a `.<name>.<pid>.<random>.tmp` file beside the target.
 *
 * @example
 *   const w = await SafetensorsStreamWriter.create(path, specs, { format: 'pt' });
 *   for (const spec of specs) await w.write(spec.name, dataOf(spec));
 *   await w.finish();
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import path from 'node:path';
import { AbqFormatError } from './errors.ts';
import type { TensorInfo } from './safetensors-header.ts';
import { planSafetensorsLayout, type SafetensorsLayout, type TensorSpec } from './safetensors-layout.ts';

export { serializeSafetensors, type TensorData } from './safetensors-serialize.ts';
export type { TensorSpec } from './safetensors-layout.ts';

export interface StreamWriterOptions {
  /** Compute the sha256 of each tensor's bytes as it is written (see sha256Hex). */
  sha256?: boolean;
}

interface Progress {
  info: TensorInfo;
  written: number;
  hash?: Hash;
  digest?: string;
}

export class SafetensorsStreamWriter {
  private readonly progress = new Map<string, Progress>();
  private state: 'open' | 'finished' | 'aborted' = 'open';

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    private readonly fh: FileHandle,
    private readonly layout: SafetensorsLayout,
    private readonly specs: readonly TensorSpec[],
    options: StreamWriterOptions,
  ) {
    for (const info of layout.order) {
      const hash = options.sha256 ? createHash('sha256') : undefined;
      // An empty tensor is complete from the start.
      this.progress.set(info.name, { info, written: 0, hash, digest: hash && info.end === info.begin ? hash.digest('hex') : undefined });
    }
  }

  /** Plans the file (validating specs and metadata), creates the temp file and writes the header. */
  static async create(
    target: string,
    specs: readonly TensorSpec[],
    metadata?: Record<string, string>,
    options: StreamWriterOptions = {},
  ): Promise<SafetensorsStreamWriter> {
    const layout = planSafetensorsLayout(specs, metadata);
    const tempPath = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const fh = await open(tempPath, 'wx');
    const writer = new SafetensorsStreamWriter(target, tempPath, fh, layout, specs, options);
    try {
      await fh.truncate(layout.fileLength);
      await writeAll(fh, layout.prefix, 0);
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return writer;
  }

  /** Tensors in file order, with their offsets in the data buffer. */
  get order(): readonly TensorInfo[] {
    return this.layout.order;
  }

  get fileLength(): number {
    return this.layout.fileLength;
  }

  /** Appends the next chunk of tensor `name`; throws (after aborting) if it would overflow the tensor. */
  async write(name: string, chunk: ArrayBufferView): Promise<void> {
    this.assertOpen();
    const p = this.progress.get(name);
    if (!p) return this.fail(new AbqFormatError('MISSING_TENSOR', 'was not declared when the writer was created', name));
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const size = p.info.end - p.info.begin;
    if (p.written + bytes.length > size) {
      return this.fail(new AbqFormatError('SIZE_MISMATCH', `chunk of ${bytes.length} bytes after ${p.written} overflows the declared ${size} bytes`, name));
    }
    const position = this.layout.dataOffset + p.info.begin + p.written;
    p.written += bytes.length; // reserve the range before awaiting, so unawaited writes still land in sequence
    p.hash?.update(bytes);
    if (p.hash && p.written === size) p.digest = p.hash.digest('hex');
    try {
      await writeAll(this.fh, bytes, position);
    } catch (e) {
      return this.fail(e);
    }
  }

  /** True once every declared byte of `name` has been written. */
  isComplete(name: string): boolean {
    const p = this.progress.get(name);
    return !!p && p.written === p.info.end - p.info.begin;
  }

  /** sha256 (lowercase hex) of a complete tensor; needs options.sha256. */
  sha256Hex(name: string): string {
    const p = this.progress.get(name);
    if (!p?.hash) throw new Error(`sha256Hex("${name}"): create the writer with { sha256: true } and declare the tensor`);
    if (!p.digest) throw new Error(`sha256Hex("${name}"): the tensor is not complete (${p.written} of ${p.info.end - p.info.begin} bytes)`);
    return p.digest;
  }

  /**
   * Checks that every tensor is complete, optionally replaces the metadata (the new header must have
   * the same padded length, e.g. checksums filled into same-length placeholders), fsyncs and renames
   * the temp file onto the target.
   */
  async finish(finalMetadata?: Record<string, string>): Promise<void> {
    this.assertOpen();
    for (const p of this.progress.values()) {
      const size = p.info.end - p.info.begin;
      if (p.written !== size) return this.fail(new AbqFormatError('SIZE_MISMATCH', `only ${p.written} of ${size} bytes were written`, p.info.name));
    }
    try {
      if (finalMetadata) {
        const again = planSafetensorsLayout(this.specs, finalMetadata);
        if (again.dataOffset !== this.layout.dataOffset) {
          throw new Error(`finish(): the final metadata changes the header length (${again.dataOffset} vs ${this.layout.dataOffset} bytes); reserve same-length placeholders at create()`);
        }
        await writeAll(this.fh, again.prefix, 0);
      }
      await this.fh.sync();
      await this.fh.close();
      this.state = 'finished';
      await rename(this.tempPath, this.path);
      await syncDirectory(path.dirname(this.path));
    } catch (e) {
      return this.fail(e);
    }
  }

  /** Closes and removes the temp file; the target is untouched. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    const wasOpen = this.state === 'open';
    this.state = 'aborted';
    if (wasOpen) await this.fh.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`SafetensorsStreamWriter for ${this.path} is already ${this.state}`);
  }

  private async fail(e: unknown): Promise<never> {
    await this.abort();
    throw e;
  }
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** fsync a directory so a rename inside it survives a power cut; not supported everywhere, so best effort. */
export async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Windows and some file systems cannot open or fsync a directory; the rename is still atomic.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

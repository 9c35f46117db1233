/**
 * Reads a packed model folder (Node only): `config.json` plus `model.safetensors`.
 *
 * - openPackedModel(dir) validates the header, metadata and config, then reads layers one at a time
 *   (a backend that repacks to its own tiles never holds the canonical copy of every layer at once).
 * - readPackedModel(dir | buffers) reads everything (PackedModel, same as the in-memory reader).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AbqFormatError } from './errors.ts';
import { openSafetensorsFile, type SafetensorsFile } from './safetensors-file.ts';
import { toF32, type TensorInfo } from './safetensors-read.ts';
import { verifyTensorChecksum } from './checksum.ts';
import {
  assemblePackedModel, checkPackedHeader, decodePackedLayer, readPackedModelFromBuffers,
  type CheckedPackedHeader, type PackedLayer, type PackedModel, type PackedModelBuffers, type ReadPackedOptions,
} from './packed-read.ts';
import { layerTensorSpecs } from './packed-check.ts';
import type { PackedLayerSpec } from './layer-spec.ts';

/** File names inside a packed model folder. */
export const PACKED_WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

export class PackedModelFile {
  private constructor(
    readonly dir: string,
    private readonly file: SafetensorsFile,
    readonly header: CheckedPackedHeader,
    private readonly verify: boolean,
  ) {}

  static async open(dir: string, options: ReadPackedOptions = {}): Promise<PackedModelFile> {
    const configText = await readFile(path.join(dir, CONFIG_FILE));
    const file = await openSafetensorsFile(path.join(dir, PACKED_WEIGHTS_FILE));
    try {
      const infos = new Map(file.names().map((n) => [n, file.info(n)]));
      const header = checkPackedHeader(file.metadata, infos, new Uint8Array(configText.buffer, configText.byteOffset, configText.length));
      return new PackedModelFile(dir, file, header, options.verify ?? false);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  get specs(): readonly PackedLayerSpec[] {
    return this.header.metadata.layers;
  }

  get config(): Record<string, unknown> {
    return this.header.config!;
  }

  floatNames(): string[] {
    return [...this.header.floatNames];
  }

  floatInfo(name: string): TensorInfo {
    if (!this.header.floatNames.includes(name)) throw new AbqFormatError('MISSING_TENSOR', 'is not a float tensor of this packed model', name);
    return this.header.infos.get(name)!;
  }

  /** Reads, checks (and with verify, checksums) one quantized layer. */
  async readLayer(name: string): Promise<PackedLayer> {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) throw new AbqFormatError('MISSING_TENSOR', 'is not a quantized layer of this model (see abq.layers)', name);
    const bytes = new Map<string, Uint8Array>();
    for (const t of layerTensorSpecs(spec)) bytes.set(t.name, await this.readChecked(t.name));
    return decodePackedLayer(spec, (n) => bytes.get(n)!, this.header.infos);
  }

  /** Reads a float tensor as f32 (F16/BF16 decoded). */
  async readFloat(name: string): Promise<Float32Array> {
    return toF32(this.floatInfo(name), await this.readChecked(name));
  }

  /** Raw bytes of any tensor, checksummed when opened with verify. */
  async readChecked(name: string): Promise<Uint8Array> {
    const bytes = await this.file.readBytes(name);
    if (this.verify) await verifyTensorChecksum(name, bytes, this.header.metadata.checksums[name]);
    return bytes;
  }

  /** Reads everything into a PackedModel. */
  async readAll(): Promise<PackedModel> {
    const bytes = new Map<string, Uint8Array>();
    for (const name of this.file.names()) bytes.set(name, await this.readChecked(name));
    return assemblePackedModel(this.header, (n) => bytes.get(n)!);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** Opens a packed model folder for layer-by-layer reading. */
export function openPackedModel(dir: string, options: ReadPackedOptions = {}): Promise<PackedModelFile> {
  return PackedModelFile.open(dir, options);
}

/** Reads a whole packed model from a folder or from in-memory buffers. */
export async function readPackedModel(source: string | PackedModelBuffers, options: ReadPackedOptions = {}): Promise<PackedModel> {
  if (typeof source !== 'string') return readPackedModelFromBuffers(source, options);
  const file = await openPackedModel(source, options);
  try {
    return await file.readAll();
  } finally {
    await file.close();
  }
}

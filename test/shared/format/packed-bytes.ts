/**
 * Builds packed safetensors bytes in memory, with hooks to break any rule on purpose: the metadata,
 * the layer specs, the tensor list and config.json can each be edited before serialization.
 */
import { createHash } from 'node:crypto';
import { encodeF16 } from '../../../shared/format/f16.ts';
import { buildPackedMetadata } from '../../../shared/format/metadata.ts';
import { buildQuantizationConfig } from '../../../shared/format/quant-config.ts';
import { serializeSafetensors, type TensorData } from '../../../shared/format/safetensors-serialize.ts';
import type { PackedModelData } from '../../../shared/format/packed-write.ts';
import type { PackedLayerSpec } from '../../../shared/format/layer-spec.ts';

export interface PackedBytesEdits {
  tensors?: (t: TensorData[]) => TensorData[];
  /** Edits the spec list written into abq.layers (as plain JSON values). */
  specs?: (specs: Record<string, unknown>[]) => unknown;
  metadata?: (m: Record<string, string>) => Record<string, string>;
  config?: (c: Record<string, unknown>) => unknown;
  /** Keep checksums of the unedited tensors (to test CHECKSUM_MISMATCH). */
  staleChecksums?: boolean;
}

export function tensorsOf(model: PackedModelData): TensorData[] {
  const out: TensorData[] = [];
  for (const { spec, weights: w } of model.layers) {
    const g = Math.ceil(spec.inFeatures / spec.groupSize);
    out.push({ name: `${spec.name}.qweight`, dtype: 'U32', shape: [spec.wbits, spec.outFeatures, Math.ceil(spec.inFeatures / 32)], data: w.planes });
    out.push({ name: `${spec.name}.scales`, dtype: 'F16', shape: [spec.outFeatures, g], data: encodeF16(w.scales) });
    out.push({ name: `${spec.name}.zeros`, dtype: 'U8', shape: [spec.outFeatures, g], data: w.zeros });
    if (w.bias) out.push({ name: `${spec.name}.bias`, dtype: 'F32', shape: [spec.outFeatures], data: w.bias });
  }
  for (const f of model.floats) {
    out.push({ name: f.name, dtype: f.dtype, shape: f.shape, data: f.dtype === 'F16' && f.data instanceof Float32Array ? encodeF16(f.data) : f.data });
  }
  return out;
}

const sha = (d: ArrayBufferView) => createHash('sha256').update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest('hex');

/** Serializes a packed model (with edits) to {safetensorsBytes, configJson}. */
export function packedBytes(model: PackedModelData, edits: PackedBytesEdits = {}): { safetensorsBytes: Uint8Array; configJson: string } {
  const original = tensorsOf(model);
  const tensors = edits.tensors ? edits.tensors(original.map((t) => ({ ...t, data: copyView(t.data) }))) : original;
  const specs = model.layers.map((l) => l.spec);
  const hashed = edits.staleChecksums ? original : tensors;
  const checksums = Object.fromEntries(hashed.map((t) => [t.name, sha(t.data)]));
  let metadata = buildPackedMetadata(specs, model.source, checksums);
  if (edits.specs) metadata['abq.layers'] = JSON.stringify(edits.specs(JSON.parse(metadata['abq.layers'])));
  if (edits.metadata) metadata = edits.metadata(metadata);
  let config: unknown = { ...model.config, quantization_config: buildQuantizationConfig(specs as PackedLayerSpec[]) };
  if (edits.config) config = edits.config(config as Record<string, unknown>);
  return { safetensorsBytes: serializeSafetensors(tensors, metadata), configJson: JSON.stringify(config) };
}

function copyView(d: ArrayBufferView): ArrayBufferView {
  const bytes = new Uint8Array(d.byteLength);
  bytes.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  const per = (d as Uint8Array).BYTES_PER_ELEMENT ?? 1;
  return per === 4 ? new Uint32Array(bytes.buffer) : per === 2 ? new Uint16Array(bytes.buffer) : bytes;
}

/**
 * Serializes tensors into one in-memory safetensors file (runtime-free). For large models use
 * SafetensorsStreamWriter (safetensors-write.ts), which never holds the whole file.
 */
import { AbqFormatError } from './errors.ts';
import type { Dtype } from './dtypes.ts';
import { planSafetensorsLayout } from './safetensors-layout.ts';

export interface TensorData {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Little-endian element bytes; any typed array or view whose byteLength matches the shape. */
  data: ArrayBufferView;
}

/** Builds a complete safetensors file: header padded to 8 bytes, tensors aligned (see safetensors-layout.ts). */
export function serializeSafetensors(tensors: readonly TensorData[], metadata?: Record<string, string>): Uint8Array {
  const layout = planSafetensorsLayout(tensors, metadata);
  const out = new Uint8Array(layout.fileLength);
  out.set(layout.prefix, 0);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const info of layout.order) {
    const data = byName.get(info.name)!.data;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes.length !== info.end - info.begin) {
      throw new AbqFormatError('SIZE_MISMATCH', `data has ${bytes.length} bytes but shape [${info.shape.join(', ')}] of ${info.dtype} needs ${info.end - info.begin}`, info.name);
    }
    out.set(bytes, layout.dataOffset + info.begin);
  }
  return out;
}

/**
 * Runtime-free: the WASM engine's model source from in-memory files (config.json text and the bytes
 * of model.safetensors). A packed model (config.json with quantization_config) runs its quantized
 * layers; an unquantized HF checkpoint runs in f32 on the same kernels.
 */
import { readPackedModelFromBuffers } from '../../shared/format/packed-read.ts';
import { parseSafetensors } from '../../shared/format/safetensors-read.ts';
import { fromPackedModel, type PackedModelSource } from '../../wasm/src/index.ts';

export async function wasmSourceFromBuffers(configJson: string, safetensors: Uint8Array): Promise<PackedModelSource> {
  const config = JSON.parse(configJson) as Record<string, unknown>;
  if (config.quantization_config) return fromPackedModel(await readPackedModelFromBuffers({ safetensorsBytes: safetensors, configJson: config }), config);
  const st = parseSafetensors(safetensors);
  return { config, linear: () => undefined, float: (name) => (st.has(name) ? st.f32(name) : undefined) };
}

/**
 * Test fixtures for shared/hub: a small but well-formed packed model folder (one 4-bit linear layer,
 * one float tensor, real abq metadata with checksums), plus the tokens and server the suites share.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildPackedMetadata } from '../../../shared/format/metadata.ts';
import { serializeSafetensors, type TensorData } from '../../../shared/format/safetensors-serialize.ts';
import type { PackedLayerSpec } from '../../../shared/format/layer-spec.ts';
import { Rng } from '../../../shared/util/rng.ts';

export const WRITE_TOKEN = 'hf_alice_write_0123456789';
export const READ_TOKEN = 'hf_alice_read_0123456789';
export const BOB_TOKEN = 'hf_bob_write_0123456789';
export const TOKENS = {
  [WRITE_TOKEN]: { user: 'alice', role: 'write' as const },
  [READ_TOKEN]: { user: 'alice', role: 'read' as const },
  [BOB_TOKEN]: { user: 'bob', role: 'write' as const },
};

export async function tempDir(prefix = 'abq-hub-test-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export interface FixtureOptions {
  /** Float elements of the embedding tensor; raise it to make the weights file bigger. */
  embedElements?: number;
  /** Corrupt one tensor after its checksum was computed (to test tensor verification). */
  corruptTensor?: boolean;
  seed?: number;
}

/** Writes a packed model folder and returns its path. */
export async function makePackedModel(dir: string, options: FixtureOptions = {}): Promise<string> {
  const rng = new Rng(options.seed ?? 7);
  const k = 64;
  const n = 16;
  const layer: PackedLayerSpec = {
    name: 'model.layers.0.mlp.down_proj', inFeatures: k, outFeatures: n, wbits: 4, levels: 16, groupSize: 32,
    symmetric: false, abits: 8, actGroupSize: 0, method: 'rtn', hasBias: false,
  };
  const embed = options.embedElements ?? 2048;
  const tensors: TensorData[] = [
    { name: `${layer.name}.qweight`, dtype: 'U32', shape: [4, n, 2], data: new Uint32Array(4 * n * 2).map(() => rng.int(0, 0xffff) * 65536 + rng.int(0, 0xffff)) },
    { name: `${layer.name}.scales`, dtype: 'F16', shape: [n, 2], data: new Uint16Array(n * 2).fill(0x3c00) },
    { name: `${layer.name}.zeros`, dtype: 'U8', shape: [n, 2], data: new Uint8Array(n * 2).fill(8) },
    { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [embed / 64, 64], data: new Float32Array(embed).map(() => rng.next() - 0.5) },
  ];
  const checksums: Record<string, string> = {};
  for (const t of tensors) {
    checksums[t.name] = createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest('hex');
  }
  if (options.corruptTensor) (tensors[3].data as Float32Array)[0] += 1;
  const metadata = buildPackedMetadata([layer], { model: 'karpathy/tinyllamas', revision: '', dtype: 'F32' }, checksums);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'model.safetensors'), serializeSafetensors(tensors, metadata));
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'], quantization_config: { quant_method: 'abq' } }, null, 2));
  await mkdir(path.join(dir, 'extra'), { recursive: true });
  await writeFile(path.join(dir, 'extra', 'notes.txt'), 'a file in a subfolder, to check nested paths\n');
  return dir;
}

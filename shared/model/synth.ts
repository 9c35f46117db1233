/**
 * Writes a synthetic Hugging Face LLaMA folder (Node only): config.json marked `abq_synthetic: true`
 * and random weights scaled like a trained model (linear and embedding weights N(0, 0.02^2), norm
 * weights 1 + N(0, 0.02^2)). Every tensor is generated in chunks and streamed through
 * SafetensorsStreamWriter, so even a 70B shape never sits in memory. Shards follow HF's naming
 * (model-00001-of-0000N.safetensors + model.safetensors.index.json) once a file would pass the limit.
 * The folder is built under a temp name and renamed into place when complete.
 */
import { mkdir, rename, rm, writeFile, copyFile, readdir, access, readFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { SafetensorsStreamWriter } from '../format/safetensors-write.ts';
import { f32ToF16Bits } from '../format/f16.ts';
import { Rng } from '../util/rng.ts';
import { parseLlamaConfig } from './config.ts';
import { llamaTensorShapes } from './weights.ts';
import { synthConfigJson, type SynthShape } from './synth-shapes.ts';
import { INDEX_FILE, SINGLE_FILE } from './load.ts';

/** Shard limit: transformers' save_pretrained default max_shard_size "2GB" (10^9-based). */
export const DEFAULT_SHARD_BYTES = 2e9;
/** Elements generated per chunk: 4 MiB of f32, small enough to stay cheap, big enough for few writes. */
const CHUNK_ELEMENTS = 1 << 20;
const WEIGHT_STD = 0.02;
const NORM_STD = 0.02;
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model'];

export interface SynthOptions {
  dtype?: 'f16' | 'f32';
  seed?: number;
  shapeName?: string;
  /** Largest shard file; a model bigger than this is sharded. */
  maxShardBytes?: number;
  /** Folder whose tokenizer files are copied into the model. */
  tokenizerDir?: string;
  /** Replace an existing output folder. */
  force?: boolean;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface SynthResult {
  dir: string;
  files: string[];
  totalBytes: number;
  params: number;
}

/** Seed of one tensor's stream, from the model seed and the name, so content does not depend on write order. */
function tensorSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0; // FNV-1a
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Fills `out` with N(mean, std^2): Box-Muller, both outputs of each pair used. */
function fillNormal(rng: Rng, out: Float32Array, mean: number, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    let u = rng.next();
    while (u === 0) u = rng.next();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    const a = 2 * Math.PI * rng.next();
    out[i] = mean + r * Math.cos(a);
    if (i + 1 < out.length) out[i + 1] = mean + r * Math.sin(a);
  }
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

/** Splits tensors (in HF order) into shards of at most maxBytes; a bigger single tensor gets its own. */
function planShards(tensors: { name: string; bytes: number }[], maxBytes: number): { name: string; bytes: number }[][] {
  const shards: { name: string; bytes: number }[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    if (size > 0 && size + t.bytes > maxBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += t.bytes;
  }
  return shards;
}

export async function writeSyntheticModel(outDir: string, shape: SynthShape, options: SynthOptions = {}): Promise<SynthResult> {
  const dtype = options.dtype ?? 'f16';
  const seed = options.seed ?? 0;
  const configJson = synthConfigJson(shape, { shapeName: options.shapeName, seed, dtype });
  const config = parseLlamaConfig(configJson); // validates the shape (heads divide hidden, ...)
  if (await exists(outDir)) {
    const entries = await readdir(outDir);
    if (entries.length > 0 && !options.force) throw new Error(`${outDir} exists and is not empty (pass --force to replace it)`);
  }
  const tokenizerFiles = options.tokenizerDir ? await checkTokenizer(options.tokenizerDir, shape.vocab) : [];
  const elemBytes = dtype === 'f16' ? 2 : 4;
  const tensors = [...llamaTensorShapes(config)].map(([name, dims]) => ({ name, dims, bytes: dims.reduce((a, b) => a * b, 1) * elemBytes }));
  const totalBytes = tensors.reduce((a, t) => a + t.bytes, 0);
  const shards = planShards(tensors, options.maxShardBytes ?? DEFAULT_SHARD_BYTES);
  const dimsOf = new Map(tensors.map((t) => [t.name, t.dims]));
  const fileName = (i: number) => shards.length === 1 ? SINGLE_FILE : `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;

  const tmpDir = `${outDir.replace(/[\\/]+$/, '')}.tmp-${process.pid}`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  try {
    let done = 0;
    const f32 = new Float32Array(CHUNK_ELEMENTS);
    const f16 = new Uint16Array(CHUNK_ELEMENTS);
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < shards.length; s++) {
      const specs = shards[s].map((t) => ({ name: t.name, dtype: dtype === 'f16' ? 'F16' as const : 'F32' as const, shape: dimsOf.get(t.name)! }));
      const writer = await SafetensorsStreamWriter.create(path.join(tmpDir, fileName(s)), specs, { format: 'pt' });
      try {
        for (const info of writer.order) {
          weightMap[info.name] = fileName(s);
          const rng = new Rng(tensorSeed(seed, info.name));
          const isNorm = info.name.endsWith('norm.weight');
          const count = (info.end - info.begin) / elemBytes;
          for (let off = 0; off < count; off += CHUNK_ELEMENTS) {
            const n = Math.min(CHUNK_ELEMENTS, count - off);
            const chunk = f32.subarray(0, n);
            fillNormal(rng, chunk, isNorm ? 1 : 0, isNorm ? NORM_STD : WEIGHT_STD);
            if (dtype === 'f16') {
              for (let i = 0; i < n; i++) f16[i] = f32ToF16Bits(chunk[i]);
              await writer.write(info.name, f16.subarray(0, n));
            } else {
              await writer.write(info.name, chunk);
            }
            done += n * elemBytes;
            options.onProgress?.(done, totalBytes);
          }
        }
        await writer.finish();
      } catch (e) {
        await writer.abort();
        throw e;
      }
    }
    const files = shards.map((_, i) => fileName(i));
    if (shards.length > 1) {
      await writeFile(path.join(tmpDir, INDEX_FILE), JSON.stringify({ metadata: { total_size: totalBytes }, weight_map: weightMap }, null, 2) + '\n');
      files.push(INDEX_FILE);
    }
    await writeFile(path.join(tmpDir, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
    files.push('config.json');
    for (const f of tokenizerFiles) {
      await copyFile(path.join(options.tokenizerDir!, f), path.join(tmpDir, f));
      await chmod(path.join(tmpDir, f), 0o644); // the source may be read-only; the copy is ours
      files.push(f);
    }
    if (await exists(outDir)) await rm(outDir, { recursive: true, force: true });
    await mkdir(path.dirname(path.resolve(outDir)), { recursive: true });
    await rename(tmpDir, outDir);
    const params = tensors.reduce((a, t) => a + t.bytes / elemBytes, 0);
    return { dir: outDir, files, totalBytes, params };
  } catch (e) {
    await rm(tmpDir, { recursive: true, force: true });
    throw e;
  }
}

/** Returns the tokenizer files present in `dir`; refuses a tokenizer with more tokens than the model's vocab. */
async function checkTokenizer(dir: string, vocab: number): Promise<string[]> {
  const tokJson = path.join(dir, 'tokenizer.json');
  if (!(await exists(tokJson))) throw new Error(`--tokenizer: ${tokJson} not found (give a folder holding tokenizer.json)`);
  const tok = JSON.parse(await readFile(tokJson, 'utf8')) as { model?: { vocab?: Record<string, number> | unknown[] }; added_tokens?: { id: number }[] };
  const ids = [...Object.values(tok.model?.vocab ?? {}).filter((v): v is number => typeof v === 'number'), ...(tok.added_tokens ?? []).map((t) => t.id)];
  const maxId = ids.reduce((a, b) => Math.max(a, b), -1);
  if (maxId >= vocab) throw new Error(`--tokenizer: ${tokJson} has token id ${maxId}, beyond the model's vocab of ${vocab} (pick a matching shape or --vocab)`);
  const present: string[] = [];
  for (const f of TOKENIZER_FILES) if (await exists(path.join(dir, f))) present.push(f);
  return present;
}

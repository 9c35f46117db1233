/**
 * Reads a Hugging Face LLaMA-family folder one block at a time (Node only), so quantizing a large
 * model holds only the block being worked on, the embeddings and the packed output in memory.
 */
import { createHash } from 'node:crypto';
import { readFile, access } from 'node:fs/promises';
import path from 'node:path';
import { openSafetensorsFile, type SafetensorsFile } from '../format/safetensors-file.ts';
import { parseLlamaConfig, type LlamaConfig } from '../model/config.ts';
import { linearModuleName } from '../model/weights.ts';
import { listSafetensorsShards } from '../model/load.ts';
import { QuantError } from './errors.ts';
import { sha256File } from '../util/file-hash.ts';
import { LINEAR_NAMES } from './quant-config.ts';
import type { BlockDims, BlockFp } from './block.ts';
import type { LinearName } from '../model/llama.ts';

export class ModelSource {
  private constructor(
    readonly dir: string,
    readonly config: LlamaConfig,
    readonly rawConfig: Record<string, unknown>,
    private readonly files: Map<string, SafetensorsFile>,
    private readonly where: Map<string, SafetensorsFile>,
  ) {}

  static async open(dir: string): Promise<ModelSource> {
    const cfgPath = path.join(dir, 'config.json');
    try { await access(cfgPath); } catch { throw new QuantError(`${dir} has no config.json: pass a Hugging Face model folder (config.json, model.safetensors, tokenizer.json)`); }
    const rawConfig = JSON.parse(await readFile(cfgPath, 'utf8')) as Record<string, unknown>;
    let config: LlamaConfig;
    try { config = parseLlamaConfig(rawConfig); } catch (e) { throw new QuantError(`unsupported model: ${(e as Error).message}`); }
    let shards;
    try { shards = await listSafetensorsShards(dir); } catch (e) { throw new QuantError((e as Error).message); }
    const files = new Map<string, SafetensorsFile>();
    const where = new Map<string, SafetensorsFile>();
    for (const f of shards.files) {
      const st = await openSafetensorsFile(path.join(dir, f));
      files.set(f, st);
      for (const n of st.names()) if (!shards.weightMap || shards.weightMap.get(n) === f) where.set(n, st);
    }
    return new ModelSource(dir, config, rawConfig, files, where);
  }

  /**
   * SHA-256 over config.json and every weight shard (names in order, then contents): identifies the model
   * by what it is, not where it lies, so a calibration checkpoint carries over between folders and machines.
   * Reads every byte once (seconds for a 7B model, against hours of calibration).
   */
  async contentDigest(): Promise<string> {
    const parts = [`config.json:${await sha256File(path.join(this.dir, 'config.json'))}`];
    for (const f of [...this.files.keys()].sort()) parts.push(`${f}:${await sha256File(path.join(this.dir, f))}`);
    return createHash('sha256').update(parts.join('\n')).digest('hex');
  }

  get dims(): BlockDims {
    const c = this.config;
    return { d: c.hiddenSize, inter: c.intermediateSize, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim, eps: c.rmsNormEps };
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  /** Source dtype of a tensor (F32/F16/BF16). */
  dtype(name: string): string {
    return this.file(name).info(name).dtype;
  }

  private file(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (!f) throw new QuantError(`tensor '${name}' is missing from ${this.dir}`);
    return f;
  }

  /** Reads a tensor as f32 and refuses NaN/Inf (which would poison every scale of its group). */
  async tensor(name: string): Promise<Float32Array> {
    const t = await this.file(name).readF32(name);
    for (let i = 0; i < t.length; i++) {
      if (!Number.isFinite(t[i])) throw new QuantError(`tensor '${name}' holds ${t[i]} at index ${i}: the checkpoint is corrupt (fix or re-download it)`);
    }
    return t;
  }

  async block(layer: number): Promise<BlockFp> {
    const p = `model.layers.${layer}`;
    const w = {} as Record<LinearName, Float32Array>;
    const bias: Partial<Record<LinearName, Float32Array>> = {};
    for (const n of LINEAR_NAMES) {
      const m = linearModuleName(layer, n);
      w[n] = await this.tensor(`${m}.weight`);
      if (this.has(`${m}.bias`)) bias[n] = await this.tensor(`${m}.bias`);
    }
    return { inputNorm: await this.tensor(`${p}.input_layernorm.weight`), postNorm: await this.tensor(`${p}.post_attention_layernorm.weight`), w, bias };
  }

  async close(): Promise<void> {
    for (const f of this.files.values()) await f.close();
  }
}

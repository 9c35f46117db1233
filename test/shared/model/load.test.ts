import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { loadLlamaModel, type LoadedLlama } from '../../../shared/model/load.ts';
import { argmax } from '../../../shared/model/sampling.ts';
import { serializeSafetensors } from '../../../shared/format/safetensors-serialize.ts';
import { parseSafetensors } from '../../../shared/format/safetensors-read.ts';
import { encodeF16, f32ToBf16Bits } from '../../../shared/format/f16.ts';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';
import { maxAbsDiff } from './random-model.ts';
import { writeSyntheticModel } from '../../../shared/model/synth.ts';

const GREEDY_STEPS = 256;
const BOS = 1;
const PROMPT = [1, 403, 407, 261, 378, 18, 481, 314, 261, 403, 407, 261, 378, 18, 481, 314];

describeWithShared('loadLlamaModel on stories260K', () => {
  const dir = STORIES260K_DIR!;
  let loaded: LoadedLlama;
  let tmp: string;
  beforeAll(async () => {
    loaded = await loadLlamaModel(dir);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'abq-model-load-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it(`greedy decoding from BOS for ${GREEDY_STEPS} steps reproduces llama2.c's reference sample`, () => {
    const { model } = loaded;
    const cache = model.newCache();
    const ids: number[] = [];
    let token = BOS;
    for (let i = 0; i < GREEDY_STEPS; i++) {
      token = argmax(model.forward([token], cache));
      ids.push(token);
    }
    const read = (f: string) => JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
    const tokenizer = new Tokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
    expect(tokenizer.decode(ids)).toBe(read('reference_eval.json').greedy_from_bos_256_steps);
  });

  it('prefill and one-by-one decode give identical logits on the real model', () => {
    const { model } = loaded;
    const all = model.forward(PROMPT, model.newCache(), { allLogits: true });
    const cache = model.newCache();
    const v = model.config.vocabSize;
    PROMPT.forEach((t, i) => expect(Array.from(model.forward([t], cache))).toEqual(Array.from(all.subarray(i * v, (i + 1) * v))));
  });

  /** Writes the model as shards (tensors split round-robin), optionally converted to F16/BF16. */
  function writeSharded(out: string, dtype: 'F32' | 'F16' | 'BF16', shards: number): void {
    const st = parseSafetensors(new Uint8Array(readFileSync(path.join(dir, 'model.safetensors'))));
    const names = st.names().filter((n) => n !== 'lm_head.weight'); // tied: the copy is optional
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = names.filter((_, i) => i % shards === s);
      const tensors = part.map((name) => {
        const f = st.f32(name);
        const data = dtype === 'F32' ? f : dtype === 'F16' ? encodeF16(f) : Uint16Array.from(f, f32ToBf16Bits);
        weightMap[name] = file;
        return { name, dtype, shape: st.info(name).shape, data };
      });
      writeFileSync(path.join(out, file), serializeSafetensors(tensors, { format: 'pt' }));
    }
    writeFileSync(path.join(out, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    copyFileSync(path.join(dir, 'config.json'), path.join(out, 'config.json'));
  }

  it('loads a sharded copy (3 shards, no lm_head copy) with identical logits', async () => {
    const out = mkdtempSync(path.join(tmp, 'f32-'));
    writeSharded(out, 'F32', 3);
    const { model } = await loadLlamaModel(out);
    const a = loaded.model.forward(PROMPT, loaded.model.newCache(), { allLogits: true });
    expect(Array.from(model.forward(PROMPT, model.newCache(), { allLogits: true }))).toEqual(Array.from(a));
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`loads ${dtype} weights (decoded to f32) with logits close to the f32 model`, async () => {
      const out = mkdtempSync(path.join(tmp, `${dtype}-`));
      writeSharded(out, dtype, 2);
      const { model } = await loadLlamaModel(out);
      const a = loaded.model.forward(PROMPT, loaded.model.newCache(), { allLogits: true });
      const b = model.forward(PROMPT, model.newCache(), { allLogits: true });
      const scale = Math.max(...Array.from(a, Math.abs));
      const diff = maxAbsDiff(a, b) / scale;
      expect(diff).toBeGreaterThan(0); // really converted
      expect(diff).toBeLessThan(dtype === 'F16' ? 5e-3 : 5e-2);
    });
  }

  it('names what is wrong with a broken folder', async () => {
    await expect(loadLlamaModel(tmp)).rejects.toThrow(/config.json/);
    const noWeights = mkdtempSync(path.join(tmp, 'empty-'));
    copyFileSync(path.join(dir, 'config.json'), path.join(noWeights, 'config.json'));
    await expect(loadLlamaModel(noWeights)).rejects.toThrow(/neither model.safetensors nor model.safetensors.index.json/);
    const wrongShape = mkdtempSync(path.join(tmp, 'shape-'));
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(wrongShape, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 128 }));
    copyFileSync(path.join(dir, 'model.safetensors'), path.join(wrongShape, 'model.safetensors'));
    await expect(loadLlamaModel(wrongShape)).rejects.toThrow(/gate_proj.weight' has shape \[172, 64\], the config requires \[128, 64\]/);
    const untied = mkdtempSync(path.join(tmp, 'untied-'));
    writeSharded(untied, 'F32', 1);
    writeFileSync(path.join(untied, 'config.json'), JSON.stringify({ ...cfg, tie_word_embeddings: false }));
    await expect(loadLlamaModel(untied)).rejects.toThrow(/missing tensor 'lm_head.weight'/);
  });
});

describe('loadLlamaModel eos ids', () => {
  it('adds the stop ids of generation_config.json to those of config.json', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'abq-model-gen-'));
    try {
      const dir = path.join(tmp, 'm');
      await writeSyntheticModel(dir, { hidden: 16, intermediate: 24, layers: 1, heads: 2, kvHeads: 1, vocab: 32, maxPositions: 16, tied: true });
      writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [2, 7] }));
      expect((await loadLlamaModel(dir)).config.eosTokenIds).toEqual([2, 7]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

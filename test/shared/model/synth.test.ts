import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSyntheticModel } from '../../../shared/model/synth.ts';
import { SYNTH_SHAPES, synthParamCount, type SynthShape } from '../../../shared/model/synth-shapes.ts';
import { loadLlamaModel } from '../../../shared/model/load.ts';
import { openSafetensorsFile } from '../../../shared/format/safetensors-file.ts';
import { describeWithShared, LLAMA2_TOKENIZER_DIR, STORIES260K_DIR } from '../../helpers/shared-data.ts';

const TINY: SynthShape = { hidden: 64, intermediate: 96, layers: 3, heads: 4, kvHeads: 2, vocab: 512, maxPositions: 128, tied: false };

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0, s2 = 0;
  for (const v of a) { s += v; s2 += v * v; }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean) };
}

describe('writeSyntheticModel', () => {
  let tmp: string;
  beforeAll(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'abq-synth-')); });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes a loadable, marked HF folder with trained-like weight scales', async () => {
    const out = path.join(tmp, 'single');
    const r = await writeSyntheticModel(out, TINY, { dtype: 'f32', seed: 3, shapeName: 'custom' });
    expect(r.files.sort()).toEqual(['config.json', 'model.safetensors']);
    expect(r.params).toBe(synthParamCount(TINY));
    const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ abq_synthetic: true, model_type: 'llama', num_key_value_heads: 2, tie_word_embeddings: false, torch_dtype: 'float32' });
    const { model, weights } = await loadLlamaModel(out);
    const w = stats(weights.embed);
    expect(Math.abs(w.mean)).toBeLessThan(1e-3);
    expect(w.std).toBeGreaterThan(0.019);
    expect(w.std).toBeLessThan(0.021);
    const n = stats(weights.layers[0].inputNorm);
    expect(Math.abs(n.mean - 1)).toBeLessThan(0.01);
    const logits = model.forward([1, 2, 3], model.newCache());
    expect(logits.every(Number.isFinite)).toBe(true);
    expect(existsSync(`${out}.tmp-${process.pid}`)).toBe(false);
  });

  it('shards above the limit (HF names and index), f16, same content for the same seed', async () => {
    const single = path.join(tmp, 'f16-single');
    const sharded = path.join(tmp, 'f16-sharded');
    await writeSyntheticModel(single, TINY, { dtype: 'f16', seed: 9 });
    const r = await writeSyntheticModel(sharded, TINY, { dtype: 'f16', seed: 9, maxShardBytes: 40_000 });
    const shards = readdirSync(sharded).filter((f) => f.endsWith('.safetensors')).sort();
    expect(shards.length).toBeGreaterThan(2);
    expect(shards[0]).toBe(`model-00001-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    expect(r.files).toContain('model.safetensors.index.json');
    for (const s of shards) {
      const f = await openSafetensorsFile(path.join(sharded, s));
      // A shard over the limit holds exactly one tensor (a single tensor bigger than the limit).
      const bytes = f.names().reduce((a, n) => a + f.info(n).end - f.info(n).begin, 0);
      if (bytes > 40_000) expect(f.names().length).toBe(1);
      expect(f.info(f.names()[0]).dtype).toBe('F16');
      await f.close();
    }
    const a = await loadLlamaModel(single);
    const b = await loadLlamaModel(sharded);
    const tokens = [5, 6, 7, 8];
    expect(Array.from(b.model.forward(tokens, b.model.newCache()))).toEqual(Array.from(a.model.forward(tokens, a.model.newCache())));
    const other = await writeSyntheticModel(path.join(tmp, 'seed10'), TINY, { dtype: 'f16', seed: 10 });
    const c = await loadLlamaModel(other.dir);
    expect(c.weights.norm[0]).not.toBe(a.weights.norm[0]);
  });

  it('refuses a non-empty output folder without force', async () => {
    const out = path.join(tmp, 'exists');
    await writeSyntheticModel(out, TINY, {});
    await expect(writeSyntheticModel(out, TINY, {})).rejects.toThrow(/exists and is not empty/);
    await expect(writeSyntheticModel(out, TINY, { force: true })).resolves.toBeTruthy();
  });

  it('named shapes have the published parameter counts', () => {
    const millions = (s: SynthShape) => synthParamCount(s) / 1e6;
    expect(millions(SYNTH_SHAPES.stories15M)).toBeCloseTo(15.19, 1);
    expect(millions(SYNTH_SHAPES.stories110M)).toBeCloseTo(109.5, 0);
    expect(millions(SYNTH_SHAPES['llama-2-7b']) / 1e3).toBeCloseTo(6.74, 2);
    expect(millions(SYNTH_SHAPES['llama-2-13b']) / 1e3).toBeCloseTo(13.02, 2);
    expect(millions(SYNTH_SHAPES['llama-2-70b']) / 1e3).toBeCloseTo(68.98, 2);
    expect(millions(SYNTH_SHAPES['tinyllama-1.1b']) / 1e3).toBeCloseTo(1.1, 1);
  });
});

describeWithShared('writeSyntheticModel with a tokenizer', () => {
  it('copies tokenizer files, and refuses one larger than the vocab', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'abq-synth-tok-'));
    try {
      const r = await writeSyntheticModel(path.join(tmp, 'm'), TINY, { tokenizerDir: STORIES260K_DIR });
      expect(r.files).toContain('tokenizer.json');
      expect(readFileSync(path.join(tmp, 'm', 'tokenizer.json'), 'utf8')).toBe(readFileSync(path.join(STORIES260K_DIR!, 'tokenizer.json'), 'utf8'));
      await expect(writeSyntheticModel(path.join(tmp, 'n'), TINY, { tokenizerDir: LLAMA2_TOKENIZER_DIR })).rejects.toThrow(/token id 31999, beyond the model's vocab of 512/);
      expect(existsSync(path.join(tmp, 'n'))).toBe(false);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

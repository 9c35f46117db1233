import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { QuantError } from '../../../shared/quant/errors.ts';
import { DEFAULT_SETTINGS, layerSpec, parseOverride, parseWeightBits, checkActBits } from '../../../shared/quant/quant-config.ts';
import { methodTraits } from '../../../shared/quant/methods.ts';
import { ModelSource } from '../../../shared/quant/model-source.ts';
import { calibrateBlock } from '../../../shared/quant/calibrate-block.ts';
import { initBlockParams } from '../../../shared/quant/params.ts';
import { LINEAR_NAMES } from '../../../shared/quant/quant-config.ts';
import { serializeSafetensors } from '../../../shared/format/safetensors-serialize.ts';
import { quantizeModel } from '../../../shared/quant/pipeline.ts';
import { STORIES260K_DIR, describeWithShared } from '../../helpers/shared-data.ts';
import { DIMS, SEQ, randomBlock, randomInput, table } from './fixtures.ts';
import type { BlockSpecs } from '../../../shared/quant/block.ts';

describe('bad settings are clear errors', () => {
  it('bits out of range', () => {
    expect(() => parseWeightBits('9')).toThrow(/1\.\.8 or '2\*'/);
    expect(() => parseWeightBits('0')).toThrow(QuantError);
    expect(() => checkActBits(12)).toThrow(/1\.\.8 or 16/);
    expect(() => layerSpec({ ...DEFAULT_SETTINGS, w: 1, symmetric: true }, 'x', 64)).toThrow(/at least 2 bits/);
  });
  it('group sizes that do not divide K, or are not whole words', () => {
    expect(() => layerSpec({ ...DEFAULT_SETTINGS, group: 64 }, 'model.layers.0.mlp.down_proj', 172)).toThrow(/does not divide its 172 input features.*--partial-groups/);
    expect(layerSpec({ ...DEFAULT_SETTINGS, group: 64, partialGroups: true }, 'd', 172).groupSize).toBe(64);
    expect(() => layerSpec({ ...DEFAULT_SETTINGS, group: 48 }, 'q', 96)).toThrow(/multiple of 32/);
    expect(() => layerSpec({ ...DEFAULT_SETTINGS, a: 8, group: 32, actGroup: 48 }, 'q', 96)).toThrow(/activation group/);
  });
  it('unknown methods and malformed overrides', () => {
    expect(() => methodTraits('gptq')).toThrow(/choose one of rtn, omniquant/);
    expect(() => parseOverride('down_proj')).toThrow(/must look like '<name substring>:a8'/);
    expect(parseOverride('down_proj:w6a8')).toEqual({ match: 'down_proj', w: 6, a: 8 });
    expect(layerSpec({ ...DEFAULT_SETTINGS, w: 6, a: 6, overrides: [parseOverride('down_proj:a8')] }, 'model.layers.1.mlp.down_proj', 172).abits).toBe(8);
  });
});

describe('bad model folders are clear errors', () => {
  it('missing files, unsupported architectures, NaN weights', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'abq-bad-'));
    try {
      await expect(ModelSource.open(path.join(dir, 'nope'))).rejects.toThrow(/no config.json/);
      await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }));
      await expect(ModelSource.open(dir)).rejects.toThrow(/unsupported model/);
      const cfg = { model_type: 'llama', vocab_size: 4, hidden_size: 4, intermediate_size: 4, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2, rms_norm_eps: 1e-5, max_position_embeddings: 8, hidden_act: 'silu', tie_word_embeddings: true };
      await writeFile(path.join(dir, 'config.json'), JSON.stringify(cfg));
      await expect(ModelSource.open(dir)).rejects.toThrow(/neither model.safetensors/);
      const t = (name: string, shape: number[], fill = 0.1) => ({ name, dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });
      const tensors = [t('model.embed_tokens.weight', [4, 4]), t('model.norm.weight', [4]), t('model.layers.0.input_layernorm.weight', [4]), t('model.layers.0.post_attention_layernorm.weight', [4])];
      for (const n of ['q_proj', 'k_proj', 'v_proj', 'o_proj']) tensors.push(t(`model.layers.0.self_attn.${n}.weight`, [4, 4]));
      for (const n of ['gate_proj', 'up_proj', 'down_proj']) tensors.push(t(`model.layers.0.mlp.${n}.weight`, [4, 4]));
      tensors[6].data[3] = NaN;
      await writeFile(path.join(dir, 'model.safetensors'), serializeSafetensors(tensors));
      await expect(quantizeModel({ model: dir, method: 'rtn', settings: DEFAULT_SETTINGS })).rejects.toThrow(/v_proj.weight' holds NaN at index 3/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describeWithShared('calibrated methods need calibration text', () => {
  it('says which option is missing, and rejects a missing calibration file', async () => {
    await expect(quantizeModel({ model: STORIES260K_DIR!, method: 'omniquant', settings: DEFAULT_SETTINGS })).rejects.toThrow(/--calib/);
    await expect(quantizeModel({ model: STORIES260K_DIR!, method: 'omniquant', settings: DEFAULT_SETTINGS, calib: { file: '/nonexistent/calib.txt', nsamples: 2, seqlen: 16, seed: 0, skip: 0 } })).rejects.toThrow(/cannot read text file/);
  });
});

describe('NaN during optimisation', () => {
  it('falls back to the last good parameters of the block and says so', () => {
    const fp = randomBlock(5);
    const specs = Object.fromEntries(LINEAR_NAMES.map((n) => [n, layerSpec({ ...DEFAULT_SETTINGS, w: 4, a: 4 }, n, n === 'down' ? DIMS.inter : DIMS.d)])) as BlockSpecs;
    const traits = methodTraits('omniquant');
    const stats = { qkv: new Float32Array(DIMS.d).fill(1), o: new Float32Array(16).fill(1), gu: new Float32Array(DIMS.d).fill(1), down: new Float32Array(DIMS.inter).fill(1) };
    const params = initBlockParams({ fp, dims: DIMS, specs, stats, traits, edgeBlock: false, seed: 0 });
    const before = params.sQkv!.data.slice();
    const good = randomInput(1);
    const bad = randomInput(2);
    bad[7] = Infinity;
    const target = new Float32Array(SEQ * DIMS.d);
    const r = calibrateBlock(fp, DIMS, specs, table(), params, { inputs: [good, good, bad], targets: [target, target, target] }, { traits, epochs: 3 });
    expect(r.fellBack).toMatch(/epoch 1, sample 2/);
    // Nothing finished an epoch, so the initial parameters are restored.
    expect(Array.from(params.sQkv!.data)).toEqual(Array.from(before));
    expect(Number.isFinite(r.finalLoss) || Number.isNaN(r.finalLoss)).toBe(true);
  });
});

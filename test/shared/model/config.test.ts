import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseLlamaConfig, ConfigError } from '../../../shared/model/config.ts';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}.config.json`, import.meta.url), 'utf8'));

describe('parseLlamaConfig', () => {
  it('LLaMA-2-7B: multi-head, untied, single eos, no scaling', () => {
    const c = parseLlamaConfig(fixture('llama-2-7b'));
    expect(c).toMatchObject({
      modelType: 'llama', vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008, numLayers: 32, numHeads: 32,
      numKvHeads: 32, headDim: 128, rmsNormEps: 1e-5, ropeTheta: 10000, maxPositionEmbeddings: 4096,
      tieWordEmbeddings: false, attentionBias: false, outputBias: false, bosTokenId: 1, eosTokenIds: [2],
    });
    expect(c.ropeScaling).toBeUndefined();
    expect(c.slidingWindow).toBeUndefined();
  });

  it('LLaMA-3.1-8B: GQA, llama3 rope scaling, eos list', () => {
    const c = parseLlamaConfig(fixture('llama-3.1-8b'));
    expect(c.numKvHeads).toBe(8);
    expect(c.ropeTheta).toBe(500000);
    expect(c.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(c.ropeScaling).toEqual({ type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  });

  it('Mistral-7B-v0.1: sliding window recorded', () => {
    const c = parseLlamaConfig(fixture('mistral-7b-v0.1'));
    expect(c).toMatchObject({ modelType: 'mistral', numKvHeads: 8, slidingWindow: 4096, attentionBias: false });
    expect(parseLlamaConfig({ ...fixture('mistral-7b-v0.1'), sliding_window: null }).slidingWindow).toBeUndefined();
  });

  it('Qwen2-0.5B: q/k/v bias, tied, head_dim from hidden/heads, unused sliding window ignored', () => {
    const c = parseLlamaConfig(fixture('qwen2-0.5b'));
    expect(c).toMatchObject({ modelType: 'qwen2', attentionBias: true, outputBias: false, tieWordEmbeddings: true, headDim: 64, numKvHeads: 2, rmsNormEps: 1e-6 });
    expect(c.slidingWindow).toBeUndefined();
  });

  it('linear rope scaling, explicit head_dim, transformers v5 rope_parameters', () => {
    expect(parseLlamaConfig({ ...fixture('llama-2-7b'), rope_scaling: { type: 'linear', factor: 2 } }).ropeScaling).toEqual({ type: 'linear', factor: 2 });
    expect(parseLlamaConfig({ ...fixture('llama-2-7b'), head_dim: 64 }).headDim).toBe(64);
    const v5 = { ...fixture('llama-3.1-8b'), rope_theta: undefined, rope_scaling: undefined, rope_parameters: { rope_type: 'linear', factor: 4, rope_theta: 1e6 } };
    expect(parseLlamaConfig(v5)).toMatchObject({ ropeTheta: 1e6, ropeScaling: { type: 'linear', factor: 4 } });
  });

  it('refuses what it cannot run, naming the field', () => {
    const base = fixture('llama-2-7b');
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ model_type: 'gpt2' }, /model_type 'gpt2' is not supported/],
      [{ model_type: undefined }, /model_type is missing/],
      [{ hidden_act: 'gelu' }, /hidden_act 'gelu' is not supported/],
      [{ hidden_size: undefined }, /hidden_size is missing/],
      [{ num_hidden_layers: 2.5 }, /num_hidden_layers must be a positive integer, got 2.5/],
      [{ num_key_value_heads: 5 }, /num_key_value_heads \(5\) must divide num_attention_heads \(32\)/],
      [{ rope_scaling: { type: 'dynamic', factor: 2 } }, /rope_scaling.type 'dynamic' is not supported/],
      [{ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 } }, /rope_scaling.original_max_position_embeddings is missing/],
      [{ rope_scaling: { type: 'linear' } }, /rope_scaling.factor is missing/],
      [{ mlp_bias: true }, /mlp_bias/],
      [{ eos_token_id: 'x' }, /eos_token_id/],
      [{ model_type: 'qwen2', use_sliding_window: true }, /use_sliding_window/],
      [{ partial_rotary_factor: 0.5 }, /partial_rotary_factor/],
    ];
    for (const [patch, msg] of bad) expect(() => parseLlamaConfig({ ...base, ...patch }), JSON.stringify(patch)).toThrow(msg);
    expect(() => parseLlamaConfig([])).toThrow(ConfigError);
  });
});

describeWithShared('parseLlamaConfig on stories260K', () => {
  it('reads the real config', () => {
    const c = parseLlamaConfig(JSON.parse(readFileSync(path.join(STORIES260K_DIR!, 'config.json'), 'utf8')));
    expect(c).toEqual({
      modelType: 'llama', vocabSize: 512, hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4,
      headDim: 8, rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: undefined, maxPositionEmbeddings: 512,
      tieWordEmbeddings: true, attentionBias: false, outputBias: false, bosTokenId: 1, eosTokenIds: [2],
    });
  });
});

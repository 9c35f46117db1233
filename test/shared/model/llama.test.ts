import { describe, it, expect } from 'vitest';
import { captureBlockIO } from '../../../shared/model/llama.ts';
import { naiveLlamaLogits } from './naive-llama.ts';
import { randomModel, maxAbsDiff } from './random-model.ts';

const TOKENS = [1, 5, 17, 3, 39, 22, 8, 8, 30, 11, 0, 25];
/** f32 activations against an f64 oracle, logits of magnitude ~1-10. */
const TOL = 2e-4;

function checkAgainstNaive(overrides: Record<string, unknown>, tokens = TOKENS) {
  const { raw, tensors, model } = randomModel(overrides);
  const logits = model.forward(tokens, model.newCache(), { allLogits: true });
  const ref = naiveLlamaLogits(raw, tensors, tokens).flat();
  const scale = Math.max(...ref.map(Math.abs));
  expect(scale).toBeGreaterThan(0.5); // the model is not degenerate
  expect(maxAbsDiff(logits, ref) / scale).toBeLessThan(TOL);
  return { model, logits };
}

describe('LlamaModel against a naive f64 forward', () => {
  it('LLaMA-2 style with GQA (4 query heads, 2 kv heads)', () => {
    checkAgainstNaive({});
  });

  it('multi-head attention (kv heads = heads) and tied embeddings', () => {
    checkAgainstNaive({ num_key_value_heads: 4, tie_word_embeddings: true });
  });

  it('LLaMA-3.1 RoPE scaling (llama3) hitting low, medium and high frequencies', () => {
    // head_dim 16, theta 5e5: wavelengths from 6.3 to ~6e4, around the 16..64 band of the scaling.
    checkAgainstNaive({
      hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 1, rope_theta: 500000,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    });
  });

  it('linear RoPE scaling', () => {
    checkAgainstNaive({ rope_scaling: { type: 'linear', factor: 4 } });
  });

  it('Qwen2: q/k/v biases, no o_proj bias', () => {
    const { model } = checkAgainstNaive({ model_type: 'qwen2', tie_word_embeddings: true, rope_theta: 1e6, rms_norm_eps: 1e-6 });
    expect(model.config.attentionBias).toBe(true);
    expect(model.config.outputBias).toBe(false);
  });

  it('LLaMA with attention_bias (q/k/v/o biases)', () => {
    checkAgainstNaive({ attention_bias: true });
  });

  it('explicit head_dim different from hidden/heads (12: unrolled dot; 6: plain dot)', () => {
    checkAgainstNaive({ head_dim: 12 });
    checkAgainstNaive({ head_dim: 6 });
  });

  it('Mistral sliding window (window 4 over 12 tokens)', () => {
    const windowed = checkAgainstNaive({ model_type: 'mistral', sliding_window: 4 });
    const full = randomModel({ model_type: 'mistral', sliding_window: null });
    const fullLogits = full.model.forward(TOKENS, full.model.newCache(), { allLogits: true });
    const v = 40;
    // Same weights: identical while the window covers everything, different after.
    expect(maxAbsDiff(windowed.logits.subarray(0, 4 * v), fullLogits.subarray(0, 4 * v))).toBe(0);
    expect(maxAbsDiff(windowed.logits.subarray(5 * v), fullLogits.subarray(5 * v))).toBeGreaterThan(1e-3);
  });
});

describe('KV cache', () => {
  it('prefill of n tokens and decoding one at a time give identical logits', () => {
    const { model } = randomModel({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } });
    const all = model.forward(TOKENS, model.newCache(), { allLogits: true });
    const cache = model.newCache();
    const v = model.config.vocabSize;
    TOKENS.forEach((tok, i) => {
      const row = model.forward([tok], cache);
      expect(Array.from(row)).toEqual(Array.from(all.subarray(i * v, (i + 1) * v)));
    });
    // Chunked prefill (5 + 7) agrees too, and without allLogits only the last row comes back.
    const chunked = model.newCache();
    model.forward(TOKENS.slice(0, 5), chunked);
    const last = model.forward(TOKENS.slice(5), chunked);
    expect(last.length).toBe(v);
    expect(Array.from(last)).toEqual(Array.from(all.subarray((TOKENS.length - 1) * v)));
    expect(chunked.length).toBe(TOKENS.length);
  });

  it('grows past its initial capacity and refuses to pass maxSeq', () => {
    const { model } = randomModel({ max_position_embeddings: 200 });
    const tokens = Array.from({ length: 150 }, (_, i) => (i * 7) % 40);
    const cache = model.newCache();
    const a = model.forward(tokens, cache, { allLogits: true });
    const b = model.forward(tokens, model.newCache(150), { allLogits: true });
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(() => model.forward(tokens, cache)).toThrow(/exceed the cache limit of 200/);
  });

  it('rejects token ids outside the vocabulary', () => {
    const { model } = randomModel();
    expect(() => model.forward([1, 40], model.newCache())).toThrow(/token id 40 at index 1/);
  });
});

describe('block-level API for calibration', () => {
  it('embed -> blockForward per layer -> head reproduces forward, and captureBlockIO matches', () => {
    const { model } = randomModel({ model_type: 'qwen2' });
    const positions = TOKENS.map((_, i) => i);
    let h = model.embed(TOKENS);
    const io = captureBlockIO(model, TOKENS);
    for (let l = 0; l < model.config.numLayers; l++) {
      expect(Array.from(io.inputs[l])).toEqual(Array.from(h));
      h = model.blockForward(l, h, positions);
      expect(Array.from(io.outputs[l])).toEqual(Array.from(h));
    }
    expect(Array.from(model.head(h, TOKENS.length, true))).toEqual(Array.from(io.logits));
  });

  it('reports the input of every linear with its shape', () => {
    const { model, config } = randomModel();
    const seen: string[] = [];
    model.forward(TOKENS.slice(0, 3), model.newCache(), {
      observer: {
        linearInput: (l, name, x, m) => {
          const inF = model.weights.layers[l][name].inFeatures;
          expect(x.length).toBe(m * inF);
          seen.push(`${l}.${name}`);
        },
      },
    });
    expect(seen.length).toBe(7 * config.numLayers);
    expect(seen.slice(0, 7)).toEqual(['0.q', '0.k', '0.v', '0.o', '0.gate', '0.up', '0.down']);
  });
});

describe('setLinear', () => {
  it('swaps a layer (checked shape) and returns the old one', () => {
    const { model } = randomModel();
    const before = model.forward(TOKENS, model.newCache());
    const old = model.weights.layers[1].down;
    const zero = { inFeatures: old.inFeatures, outFeatures: old.outFeatures, forward: (_x: Float32Array, m: number) => new Float32Array(m * old.outFeatures) };
    expect(model.setLinear(1, 'down', zero)).toBe(old);
    expect(maxAbsDiff(model.forward(TOKENS, model.newCache()), before)).toBeGreaterThan(1e-3);
    model.setLinear(1, 'down', old);
    expect(Array.from(model.forward(TOKENS, model.newCache()))).toEqual(Array.from(before));
    expect(() => model.setLinear(0, 'q', { ...zero })).toThrow(/layer 0 q is 32x32, the replacement is 32x48/);
  });
});

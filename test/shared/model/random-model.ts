/** Small random LLaMA-family models for tests: a raw HF config plus tensors by HF name. */
import { Rng } from '../../../shared/util/rng.ts';
import { parseLlamaConfig } from '../../../shared/model/config.ts';
import { llamaTensorShapes } from '../../../shared/model/weights.ts';
import { buildLlamaWeights } from '../../../shared/model/weights.ts';
import { LlamaModel } from '../../../shared/model/llama.ts';

export const BASE_CONFIG = {
  model_type: 'llama', hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, vocab_size: 40, rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 128,
  hidden_act: 'silu', tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
};

/** Random weights (std 0.3, norms near 1, biases small) for the given HF config overrides. */
export function randomModel(overrides: Record<string, unknown> = {}, seed = 1) {
  const raw: Record<string, any> = { ...BASE_CONFIG, ...overrides };
  const config = parseLlamaConfig(raw);
  const rng = new Rng(seed);
  const tensors = new Map<string, Float32Array>();
  for (const [name, shape] of llamaTensorShapes(config)) {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (name.endsWith('norm.weight')) for (let i = 0; i < a.length; i++) a[i] = 1 + 0.2 * rng.normal();
    else rng.fillNormal(a, name.endsWith('.bias') ? 0.1 : 0.3);
    tensors.set(name, a);
  }
  const model = new LlamaModel(config, buildLlamaWeights(config, (n) => tensors.get(n)));
  return { raw, config, tensors, model };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

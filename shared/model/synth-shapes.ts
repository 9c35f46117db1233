/**
 * Named shapes of real LLaMA-family models, for synthetic (random-weight) models used in speed
 * benchmarks and format tests (runtime-free). Figures are the published configs: llama2.c's
 * tinyllamas (stories*), Meta's Llama 2, and TinyLlama 1.1B.
 */

export interface SynthShape {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  maxPositions: number;
  /** llama2.c models share embedding and classifier; Meta's Llama 2 does not. */
  tied: boolean;
}

export const SYNTH_SHAPES = {
  'stories260K-shape': { hidden: 64, intermediate: 172, layers: 5, heads: 8, kvHeads: 4, vocab: 512, maxPositions: 512, tied: true },
  stories15M: { hidden: 288, intermediate: 768, layers: 6, heads: 6, kvHeads: 6, vocab: 32000, maxPositions: 256, tied: true },
  stories110M: { hidden: 768, intermediate: 2048, layers: 12, heads: 12, kvHeads: 12, vocab: 32000, maxPositions: 1024, tied: true },
  'tinyllama-1.1b': { hidden: 2048, intermediate: 5632, layers: 22, heads: 32, kvHeads: 4, vocab: 32000, maxPositions: 2048, tied: false },
  'llama-2-7b': { hidden: 4096, intermediate: 11008, layers: 32, heads: 32, kvHeads: 32, vocab: 32000, maxPositions: 4096, tied: false },
  'llama-2-13b': { hidden: 5120, intermediate: 13824, layers: 40, heads: 40, kvHeads: 40, vocab: 32000, maxPositions: 4096, tied: false },
  'llama-2-70b': { hidden: 8192, intermediate: 28672, layers: 80, heads: 64, kvHeads: 8, vocab: 32000, maxPositions: 4096, tied: false },
} as const satisfies Record<string, SynthShape>;

export type SynthShapeName = keyof typeof SYNTH_SHAPES;
export const SYNTH_SHAPE_NAMES = Object.keys(SYNTH_SHAPES) as SynthShapeName[];

/** Number of parameters of a shape (embedding, all blocks, final norm, lm_head when untied). */
export function synthParamCount(s: SynthShape): number {
  const headDim = s.hidden / s.heads;
  const attn = s.hidden * s.hidden * 2 + 2 * s.hidden * s.kvHeads * headDim;
  const block = attn + 3 * s.hidden * s.intermediate + 2 * s.hidden;
  return s.vocab * s.hidden * (s.tied ? 1 : 2) + s.layers * block + s.hidden;
}

/** The HF config.json of a synthetic model; `abq_synthetic: true` marks its weights as random. */
export function synthConfigJson(shape: SynthShape, extra: { shapeName?: string; seed?: number; dtype?: 'f16' | 'f32' } = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: shape.hidden,
    intermediate_size: shape.intermediate,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    vocab_size: shape.vocab,
    max_position_embeddings: shape.maxPositions,
    hidden_act: 'silu',
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    rope_scaling: null,
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: shape.tied,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: extra.dtype === 'f32' ? 'float32' : 'float16',
    abq_synthetic: true,
    ...(extra.shapeName ? { abq_synthetic_shape: extra.shapeName } : {}),
    ...(extra.seed !== undefined ? { abq_synthetic_seed: extra.seed } : {}),
  };
}

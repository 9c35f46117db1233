/**
 * Token generation loop over the reference model: prefill the prompt once, then decode one token
 * per forward until a stop id or the token budget. Yields ids as they are chosen, so callers can
 * stream text (through the tokenizer's IncrementalDecoder) or stop early by breaking out.
 */
import type { LlamaModel } from './llama.ts';
import { Sampler, type SamplingParams } from './sampling.ts';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Stop ids; the stop token itself is not yielded. Default: the config's eos ids. */
  stopIds?: readonly number[];
  sampling?: Partial<SamplingParams>;
}

export function* generateTokens(model: LlamaModel, prompt: readonly number[], opts: GenerateOptions): Generator<number, void, undefined> {
  if (prompt.length === 0) throw new Error('generateTokens: the prompt is empty (start it with the BOS id)');
  const stop = new Set(opts.stopIds ?? model.config.eosTokenIds);
  const sampler = new Sampler(opts.sampling);
  const limit = Math.min(opts.maxNewTokens, model.config.maxPositionEmbeddings - prompt.length);
  if (limit <= 0) return;
  const cache = model.newCache(prompt.length + limit);
  let logits = model.forward(prompt, cache);
  for (let i = 0; i < limit; i++) {
    const next = sampler.sample(logits);
    if (stop.has(next)) return;
    yield next;
    if (i + 1 < limit) logits = model.forward([next], cache);
  }
}

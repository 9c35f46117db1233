/**
 * Perplexity by llama2.c's "stream" protocol (the one the reference figures in the shared data
 * README use): documents encoded as [BOS] + tokens and concatenated, cut into non-overlapping windows
 * of `window` tokens (positions restart at 0 in each), every next-token target inside a window scored.
 * Log-softmax in f64.
 */
import type { LlamaModel } from '../model/llama.ts';

export interface PerplexityResult { nll: number; tokens: number; ppl: number }

export function streamPerplexity(model: LlamaModel, stream: Int32Array, window: number, maxWindows = Infinity): PerplexityResult {
  const vocab = model.config.vocabSize;
  let nll = 0, count = 0;
  for (let start = 0, w = 0; start + 1 < stream.length && w < maxWindows; start += window, w++) {
    const ids = stream.subarray(start, Math.min(stream.length, start + window));
    if (ids.length < 2) break;
    const logits = model.forward(ids, model.newCache(ids.length), { allLogits: true });
    for (let t = 0; t + 1 < ids.length; t++) {
      const row = t * vocab;
      let mx = -Infinity;
      for (let v = 0; v < vocab; v++) if (logits[row + v] > mx) mx = logits[row + v];
      let sum = 0;
      for (let v = 0; v < vocab; v++) sum += Math.exp(logits[row + v] - mx);
      nll += Math.log(sum) + mx - logits[row + ids[t + 1]];
      count++;
    }
  }
  return { nll: nll / count, tokens: count, ppl: Math.exp(nll / count) };
}

/** Mean next-token cross-entropy over a set of samples (the FlexQ sensitivity loss). */
export function samplesLoss(model: LlamaModel, samples: Int32Array[]): number {
  let s = 0, n = 0;
  for (const ids of samples) {
    const r = streamPerplexity(model, ids, ids.length);
    s += r.nll * r.tokens;
    n += r.tokens;
  }
  return s / n;
}

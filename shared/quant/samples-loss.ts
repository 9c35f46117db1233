/**
 * The calibration loss FlexQ's sensitivity analysis compares: mean next-token cross-entropy over the
 * calibration samples, each sample one window from position 0. (Perplexity of held-out text, with its
 * documented protocols, is shared/eval's job; this is only the loss the quantizer optimises against.)
 */
import type { LlamaModel } from '../model/llama.ts';
import { tokenNll } from '../eval/token-nll.ts';

export function samplesLoss(model: LlamaModel, samples: Int32Array[]): number {
  let nll = 0, count = 0;
  const vocab = model.config.vocabSize;
  for (const ids of samples) {
    if (ids.length < 2) continue;
    const logits = model.forward(ids, model.newCache(ids.length), { allLogits: true });
    for (let t = 0; t + 1 < ids.length; t++) {
      nll += tokenNll(logits, t * vocab, vocab, ids[t + 1]);
      count++;
    }
  }
  return nll / count;
}

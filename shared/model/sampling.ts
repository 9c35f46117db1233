/**
 * Next-token sampling: greedy (temperature 0), temperature, top-k and top-p (nucleus), applied in
 * that order as transformers' generate() does. Seeded with shared/util/rng.ts, so one seed always
 * gives the same tokens in every runtime.
 */
import { Rng } from '../util/rng.ts';

export interface SamplingParams {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Keep only the k most likely tokens; 0 = no limit. */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches topP; 1 = no limit. */
  topP: number;
  seed: number;
}

export const DEFAULT_SAMPLING: SamplingParams = { temperature: 1, topK: 0, topP: 1, seed: 0 };

/** Index of the largest logit (the first one on ties). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export class Sampler {
  readonly params: SamplingParams;
  private readonly rng: Rng;

  constructor(params: Partial<SamplingParams> = {}) {
    const p = { ...DEFAULT_SAMPLING, ...params };
    if (!(p.temperature >= 0) || !Number.isFinite(p.temperature)) throw new Error(`temperature must be a finite number >= 0, got ${p.temperature}`);
    if (!Number.isInteger(p.topK) || p.topK < 0) throw new Error(`topK must be an integer >= 0 (0 = off), got ${p.topK}`);
    if (!(p.topP > 0 && p.topP <= 1)) throw new Error(`topP must be in (0, 1] (1 = off), got ${p.topP}`);
    this.params = p;
    this.rng = new Rng(p.seed);
  }

  /** Picks the next token from one row of logits ([vocab]). Greedy draws nothing from the RNG. */
  sample(logits: ArrayLike<number>): number {
    if (this.params.temperature === 0) return argmax(logits);
    return sampleWithUniform(logits, this.params, this.rng.next());
  }
}

/**
 * The sampling algorithm with its one random draw `u` in [0, 1) given: Sampler uses it with its own
 * RNG; batch engines (gpu-node/engine) get `u` from the scheduler, which draws it from the request's
 * RNG, so the same seed gives the same tokens wherever the logits are computed. Greedy ignores `u`.
 */
export function sampleWithUniform(logits: ArrayLike<number>, params: Pick<SamplingParams, 'temperature' | 'topK' | 'topP'>, u: number): number {
  const { temperature, topK, topP } = params;
  if (temperature === 0) return argmax(logits);
  const vocab = logits.length;
  // Candidates sorted by logit (descending, ties by id for determinism), cut to top-k.
  let ids = Array.from({ length: vocab }, (_, i) => i);
  ids.sort((a, b) => logits[b] - logits[a] || a - b);
  if (topK > 0 && topK < vocab) ids = ids.slice(0, topK);
  const max = logits[ids[0]];
  const probs = new Float64Array(ids.length);
  let sum = 0;
  for (let i = 0; i < ids.length; i++) {
    probs[i] = Math.exp((logits[ids[i]] - max) / temperature);
    sum += probs[i];
  }
  let keep = ids.length;
  if (topP < 1) {
    // Smallest prefix whose mass reaches topP; the most likely token is always kept.
    let cum = 0;
    for (let i = 0; i < ids.length; i++) {
      cum += probs[i] / sum;
      if (cum >= topP) { keep = i + 1; break; }
    }
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += probs[i];
  let r = u * kept;
  for (let i = 0; i < keep; i++) {
    r -= probs[i];
    if (r < 0) return ids[i];
  }
  return ids[keep - 1];
}

/**
 * Runs an EvalPlan through a model and reports mean next-token cross-entropy (nats) and perplexity.
 * Each window starts from a fresh cache at position 0 and is fed in chunks, so logits memory stays at
 * chunk x vocab floats (the reference forward gives the same logits chunked or not).
 */
import type { EvalPlan, EvalProtocol } from './eval-plan.ts';
import type { LogitsModel } from './logits-model.ts';
import { tokenNll } from './token-nll.ts';

/** Input positions per forward call: bounds the logits buffer (512 x 32k vocab = 64 MB of f32). */
export const EVAL_CHUNK_TOKENS = 512;

export interface PerplexityResult {
  protocol: EvalProtocol;
  seqlen: number;
  windows: number;
  /** Tokens of the evaluated text (BOS included). */
  tokens: number;
  /** Next-token targets scored. */
  targets: number;
  /** Mean cross-entropy per target, nats. */
  loss: number;
  /** exp(loss) */
  ppl: number;
  seconds: number;
  /** Targets scored per second (each costs one forward position). */
  tokensPerSecond: number;
}

export interface PerplexityOptions {
  /** Called after each window with targets scored so far and in total. */
  onProgress?: (done: number, total: number) => void;
  chunkTokens?: number;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

/** Lets timers (a progress bar's redraw) run between windows; the forward pass itself is synchronous. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export async function evaluatePerplexity(model: LogitsModel, plan: EvalPlan, options: PerplexityOptions = {}): Promise<PerplexityResult> {
  const chunk = options.chunkTokens ?? EVAL_CHUNK_TOKENS;
  const now = options.now ?? (() => performance.now());
  const start = now();
  let nllSum = 0;
  let done = 0;
  for (const window of plan.windows) {
    const inputs = window.length - 1;
    const cache = model.newCache(Math.max(inputs, 1));
    for (let from = 0; from < inputs; from += chunk) {
      const to = Math.min(from + chunk, inputs);
      const logits = model.forward(window.subarray(from, to), cache, { allLogits: true });
      const vocab = logits.length / (to - from);
      if (!Number.isInteger(vocab) || vocab < 1) {
        throw new Error(`model.forward returned ${logits.length} logits for ${to - from} tokens; expected a multiple ([tokens][vocab], allLogits)`);
      }
      for (let t = from; t < to; t++) nllSum += tokenNll(logits, (t - from) * vocab, vocab, window[t + 1]);
    }
    done += inputs;
    options.onProgress?.(done, plan.targets);
    await yieldToEventLoop();
  }
  const seconds = (now() - start) / 1000;
  const loss = nllSum / done;
  return {
    protocol: plan.protocol,
    seqlen: plan.seqlen,
    windows: plan.windows.length,
    tokens: plan.tokens,
    targets: done,
    loss,
    ppl: Math.exp(loss),
    seconds,
    tokensPerSecond: seconds > 0 ? done / seconds : Infinity,
  };
}

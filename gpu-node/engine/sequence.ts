/**
 * One request inside the scheduler: its tokens (prompt, then generated), how many of them the engine
 * has in its KV cache (`computed`), its seeded RNG, and the channel its stream reads from.
 *
 * A sequence needs `tokens.length - computed` tokens run before its next sample: the rest of its
 * prompt while prefilling, exactly 1 (the token sampled last) while decoding, and everything again
 * after a preemption set `computed` back to 0 (recompute; the stream does not notice).
 */
import { endsWithStop, type GenerateRequest, type GeneratedToken } from '../../edge/backends/backend.ts';
import { Rng } from '../../shared/util/rng.ts';

/** A queue of generated tokens between the scheduler loop (producer) and one generate() stream. */
export class TokenChannel {
  private readonly items: GeneratedToken[] = [];
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;

  push(t: GeneratedToken): void {
    this.items.push(t);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(e: Error): void {
    this.error = e;
    this.ended = true;
    this.notify();
  }

  async *read(): AsyncGenerator<GeneratedToken> {
    for (;;) {
      if (this.items.length > 0) yield this.items.shift()!;
      else if (this.error) throw this.error;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

export class Sequence {
  readonly tokens: number[];
  readonly promptLength: number;
  /** Tokens of `tokens` already in the engine's KV cache. */
  computed = 0;
  readonly rng: Rng;
  private readonly longestStop: number;
  readonly channel = new TokenChannel();
  /** Set when the client left or the stream was closed early; the loop drops it at the next boundary. */
  cancelled = false;
  /** Set once the stream has ended (finished, failed or cancelled). */
  finished = false;

  constructor(
    readonly seqId: number,
    readonly req: GenerateRequest,
    seed: number,
  ) {
    this.tokens = req.tokens.slice();
    this.promptLength = req.tokens.length;
    this.rng = new Rng(seed);
    this.longestStop = Math.max(0, ...(req.stop ?? []).map((q) => q.length));
  }

  get generated(): number {
    return this.tokens.length - this.promptLength;
  }

  /** True when the generated tokens end with one of the request's stop sequences. */
  endsWithStop(): boolean {
    if (this.longestStop === 0) return false;
    // Only the last longestStop generated tokens can matter: no copy of the whole sequence per token.
    return endsWithStop(this.tokens.slice(Math.max(this.promptLength, this.tokens.length - this.longestStop)), this.req.stop);
  }

  /** Tokens to run before the next sample. */
  get pending(): number {
    return this.tokens.length - this.computed;
  }

  /** Ends the stream now (the consumer sees it end at once); the loop frees the blocks at its next boundary. */
  cancel(): void {
    if (this.finished) return;
    this.cancelled = true;
    this.finished = true;
    this.channel.end();
  }

  finish(): void {
    this.finished = true;
    this.channel.end();
  }

  fail(e: Error): void {
    this.finished = true;
    this.channel.fail(e);
  }
}

/**
 * The one interface every inference backend implements: a remote GPU node (over HTTP), the WASM
 * engine, and the f32 reference forward. Like ggml's `supports_op`, `supports()` says up front
 * whether the backend can run a model, so the router can fall back instead of failing late.
 * All backends pass the same conformance suite (test/conformance/).
 *
 * Example:
 *
 *     for await (const { token } of backend.generate({ model: 'stories260K', tokens: [1, 403],
 *         sampling: { temperature: 0, topP: 1, topK: 0 }, maxTokens: 8, stop: [[2]], signal }))
 *       ids.push(token);
 */

export type BackendKind = 'gpu' | 'wasm' | 'reference';

export interface SamplingOptions {
  /** 0 means greedy (argmax). */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 disables it. */
  topP: number;
  /** Keep only the k most likely tokens; 0 disables it. */
  topK: number;
  /** Seed for the sampler's RNG; the same seed and inputs give the same tokens. */
  seed?: number;
}

export interface GenerateRequest {
  model: string;
  /** Prompt token ids (BOS included when the model wants it). */
  tokens: number[];
  sampling: SamplingOptions;
  /** Upper bound on generated tokens. */
  maxTokens: number;
  /** Token-id sequences that end generation; the matching tokens are emitted, then the stream ends. */
  stop?: number[][];
  /** Also report each token's log-probability under the model (before temperature). */
  logprobs?: boolean;
  /**
   * The caller uses no token before the last one (a non-streamed API request): a remote backend may
   * fetch the answer in one piece instead of streaming it. Local backends ignore it.
   */
  wholeAnswer?: boolean;
  signal?: AbortSignal;
}

export interface GeneratedToken {
  token: number;
  logprob?: number;
}

export interface InferenceBackend {
  /** Stable id, e.g. `node:a` or `wasm:stories260K`. */
  readonly id: string;
  readonly kind: BackendKind;
  supports(model: string): boolean;
  generate(req: GenerateRequest): AsyncIterable<GeneratedToken>;
}

/** True when `generated` ends with one of the stop sequences. */
export function endsWithStop(generated: readonly number[], stop: readonly (readonly number[])[] | undefined): boolean {
  if (!stop) return false;
  outer: for (const seq of stop) {
    if (seq.length === 0 || seq.length > generated.length) continue;
    const off = generated.length - seq.length;
    for (let i = 0; i < seq.length; i++) if (generated[off + i] !== seq[i]) continue outer;
    return true;
  }
  return false;
}

/** Checks a request against the limits every backend shares; throws a message naming the bad field. */
export function checkGenerateRequest(req: GenerateRequest, vocabSize: number, contextLength: number): void {
  if (!Array.isArray(req.tokens) || req.tokens.length === 0) throw new RangeError('tokens must be a non-empty array of token ids');
  for (const t of req.tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new RangeError(`token id ${t} is outside the vocabulary [0, ${vocabSize})`);
  }
  if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) throw new RangeError(`maxTokens ${req.maxTokens} must be a positive integer`);
  if (req.tokens.length + req.maxTokens > contextLength) {
    throw new RangeError(`prompt (${req.tokens.length}) + maxTokens (${req.maxTokens}) exceeds the context length ${contextLength}`);
  }
}

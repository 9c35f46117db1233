/**
 * What perplexity evaluation needs from a model: a fresh KV cache per window, and a forward pass that
 * appends tokens to the cache and returns logits for every position. shared/model/llama.ts LlamaModel
 * satisfies it, and so must every packed-model runtime that wants `abq-pack eval`.
 */
export interface LogitsModel<Cache = unknown> {
  /** A cache for one sequence of at most `maxSeq` positions. */
  newCache(maxSeq?: number): Cache;
  /**
   * Runs `tokens` at positions cache.length.. and appends them to the cache. With allLogits, returns
   * row-major logits [tokens.length][vocab]; otherwise only the last row.
   */
  forward(tokens: ArrayLike<number>, cache: Cache, opts?: { allLogits?: boolean }): Float32Array;
}

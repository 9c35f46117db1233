/**
 * The WASM inference engine: a LLaMA-family decoder over the packed format, on the kernels of
 * wasm/assembly (one WebAssembly.Memory holds weights, KV cache and activations). Runtime-free: it
 * runs unchanged in Node, browsers and workerd. Single sequence; prompts longer than maxBatch are
 * prefilled in chunks.
 *
 * @example
 *   const engine = await createWasmEngine({ model: fromPackedModel(packed), kernels: { simd: module } });
 *   for await (const { token } of engine.generate(promptIds, { temperature: 0 }, { maxTokens: 64 })) ...
 */
import type { LlamaConfig } from '../../shared/model/config.ts';
import { Sampler, type SamplingParams } from '../../shared/model/sampling.ts';
import type { KernelFlavor } from './kernels.ts';
import { loadModel, type EngineOptions, type LoadedModel } from './engine-model.ts';

export type { EngineOptions } from './engine-model.ts';

export interface GenerateOptions {
  /** Tokens to generate at most (default 256). */
  maxTokens?: number;
  /**
   * Stop after any of these token ids (default: the config's eos ids); the stop token is yielded.
   * Generation also ends when the KV cache (maxSeq) is full.
   */
  stop?: readonly number[];
  signal?: AbortSignal;
}

export interface GeneratedToken {
  token: number;
  /** Natural log of the token's probability under the (untempered) model. */
  logprob: number;
}

export const DEFAULT_MAX_TOKENS = 256;

export interface WasmEngine {
  readonly config: LlamaConfig;
  readonly flavor: KernelFlavor;
  /** Tokens currently in the KV cache. */
  readonly position: number;
  /** Bytes of weights read per decoded token (quantized containers + f32 layers). */
  readonly weightBytes: number;
  /** Bytes of the engine's WebAssembly.Memory. */
  readonly memoryBytes: number;
  /** Appends tokens to the cache; returns the logits of the last one ([vocab], a copy). */
  prefill(tokens: ArrayLike<number>): Float32Array;
  /** Appends one token; returns its logits ([vocab], a copy). */
  decode(token: number): Float32Array;
  /** Appends tokens; returns logits for every one ([n][vocab]), e.g. for perplexity. */
  forwardAll(tokens: ArrayLike<number>): Float32Array;
  /** Prefills `prompt` (after reset) and yields sampled tokens until maxTokens, a stop token or abort. */
  generate(prompt: ArrayLike<number>, sampling?: Partial<SamplingParams>, options?: GenerateOptions): AsyncIterable<GeneratedToken>;
  /** Empties the KV cache. */
  reset(): void;
  /** Threads running the kernels (1 without a thread pool). */
  readonly threads: number;
  /** Stops the engine's worker threads, if any. */
  close(): Promise<void>;
}

export async function createWasmEngine(opts: EngineOptions): Promise<WasmEngine> {
  return new Engine(await loadModel(opts));
}

/** A macrotask turn: setImmediate where it exists (Node; no 1 ms clamp), else setTimeout(0). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

function logSoftmaxAt(logits: Float32Array, token: number): number {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > mx) mx = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - mx);
  return logits[token] - mx - Math.log(sum);
}

class Engine implements WasmEngine {
  private pos = 0;

  constructor(private readonly m: LoadedModel) {}

  get config(): LlamaConfig { return this.m.config; }
  get flavor(): KernelFlavor { return this.m.kernels.flavor; }
  get position(): number { return this.pos; }
  get weightBytes(): number { return this.m.weightBytes; }
  get memoryBytes(): number { return this.m.kernels.memory.buffer.byteLength; }

  get threads(): number { return this.m.parallel?.threads ?? 1; }

  reset(): void {
    this.pos = 0;
  }

  async close(): Promise<void> {
    await this.m.parallel?.close();
  }

  prefill(tokens: ArrayLike<number>): Float32Array {
    return this.run(tokens, false);
  }

  decode(token: number): Float32Array {
    return this.run([token], false);
  }

  forwardAll(tokens: ArrayLike<number>): Float32Array {
    return this.run(tokens, true);
  }

  async *generate(prompt: ArrayLike<number>, sampling: Partial<SamplingParams> = {}, options: GenerateOptions = {}): AsyncIterable<GeneratedToken> {
    const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    const stop = new Set(options.stop ?? this.m.config.eosTokenIds);
    const sampler = new Sampler(sampling);
    this.reset();
    if (prompt.length === 0) throw new Error('generate: the prompt is empty; pass at least the BOS token');
    let logits = this.prefill(prompt);
    for (let i = 0; i < maxTokens; i++) {
      options.signal?.throwIfAborted();
      const token = sampler.sample(logits);
      yield { token, logprob: logSoftmaxAt(logits, token) };
      if (stop.has(token) || i + 1 === maxTokens || this.pos >= this.m.maxSeq) return;
      // Let the host's event loop run between tokens, so streamed responses flush and aborts arrive.
      await yieldToEventLoop();
      logits = this.decode(token);
    }
  }

  private run(tokens: ArrayLike<number>, allLogits: boolean): Float32Array {
    const { config: c, maxBatch } = this.m;
    const n = tokens.length;
    if (n === 0) throw new Error('no tokens given');
    if (this.pos + n > this.m.maxSeq) {
      throw new RangeError(`${this.pos} cached + ${n} new tokens pass the KV cache length ${this.m.maxSeq}: reset() or create the engine with a larger maxSeq`);
    }
    for (let i = 0; i < n; i++) {
      const id = tokens[i];
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new RangeError(`token id ${id} at index ${i} is outside the vocabulary 0..${c.vocabSize - 1}`);
    }
    const out = new Float32Array((allLogits ? n : 1) * c.vocabSize);
    for (let s = 0; s < n; s += maxBatch) {
      const m = Math.min(maxBatch, n - s);
      const rows = allLogits ? m : s + m === n ? 1 : 0;
      this.forwardChunk(tokens, s, m, rows);
      if (rows) {
        const logits = this.m.arena.f32(this.m.buf.logits, rows * c.vocabSize);
        out.set(logits, allLogits ? s * c.vocabSize : 0);
      }
    }
    return out;
  }

  /** Runs tokens[s..s+m) at positions pos..; computes logits of the last `logitRows` rows. */
  private forwardChunk(tokens: ArrayLike<number>, s: number, m: number, logitRows: number): void {
    const { config: c, kernels, arena, buf, layers } = this.m;
    const x = kernels.exports;
    const d = c.hiddenSize, qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim, I = c.intermediateSize;
    const ids = arena.i32(buf.tokens, m);
    for (let i = 0; i < m; i++) ids[i] = tokens[s + i];
    x.embedRows(this.m.embed, buf.tokens, m, d, buf.hidden);
    const pos0 = this.pos;
    for (const L of layers) {
      x.rmsNorm(buf.hidden, L.inputNorm, buf.normed, m, d, c.rmsNormEps);
      // q, k, v; k and v go straight into the cache rows of positions pos0..pos0+m-1.
      L.lin.q.forward(buf.normed, m, buf.q);
      const kDst = L.k + pos0 * kvDim * 4, vDst = L.v + pos0 * kvDim * 4;
      L.lin.k.forward(buf.normed, m, kDst);
      L.lin.v.forward(buf.normed, m, vDst);
      x.ropeRotateHalf(buf.q, m, qDim, c.numHeads, c.headDim, this.m.cos, this.m.sin, pos0);
      x.ropeRotateHalf(kDst, m, kvDim, c.numKvHeads, c.headDim, this.m.cos, this.m.sin, pos0);
      x.attention(buf.q, buf.att, m, pos0, c.numHeads, c.numKvHeads, c.headDim, L.k, L.v, buf.scores);
      L.lin.o.forward(buf.att, m, buf.proj);
      x.addInPlace(buf.hidden, buf.proj, m * d);
      x.rmsNorm(buf.hidden, L.postNorm, buf.normed, m, d, c.rmsNormEps);
      L.lin.gate.forward(buf.normed, m, buf.gate);
      L.lin.up.forward(buf.normed, m, buf.up);
      x.swiglu(buf.gate, buf.up, buf.gate, m * I);
      L.lin.down.forward(buf.gate, m, buf.proj);
      x.addInPlace(buf.hidden, buf.proj, m * d);
    }
    this.pos = pos0 + m;
    if (logitRows > 0) {
      const first = buf.hidden + (m - logitRows) * d * 4;
      x.rmsNorm(first, this.m.norm, buf.normed, logitRows, d, c.rmsNormEps);
      this.m.lmHead.forward(buf.normed, logitRows, buf.logits);
    }
  }
}

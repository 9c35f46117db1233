/**
 * The generation loop for models that run in this process (the f32 reference forward, the WASM
 * engine): prefill the prompt, then sample one token at a time with shared/model's Sampler, stop
 * on a stop sequence, maxTokens or abort. Between tokens it yields to the event loop, so one
 * process can stream several requests, answer health checks and notice a client leaving.
 */
import { Sampler } from '../../shared/model/sampling.ts';
import { checkGenerateRequest, endsWithStop, type BackendKind, type GenerateRequest, type GeneratedToken, type InferenceBackend } from './backend.ts';

/** One sequence's state (its KV cache): each call appends tokens and returns the last row's logits. */
export interface StepSession {
  forward(tokens: number[]): Float32Array;
  /** Frees native/WASM memory; optional for GC-managed sessions. */
  dispose?(): void;
}

export interface StepModel {
  readonly vocabSize: number;
  readonly contextLength: number;
  /** Parameter count, for the "small enough to run on the edge" check. */
  readonly parameterCount: number;
  /** May wait (e.g. for a free engine from a pool). */
  newSession(maxSeq: number): StepSession | Promise<StepSession>;
}

export interface LocalModelBackendOptions {
  id: string;
  kind: BackendKind;
  /** Model ids this backend answers to. */
  modelIds: string[];
  model: StepModel;
  /** Refuse models larger than this (the edge's WASM fallback is for small models). */
  maxParameters?: number;
}

/** Lets timers, I/O and other streams run between tokens (setImmediate on Node, a 0 ms timer elsewhere). */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
  return new Promise((resolve) => (g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** log softmax of `logits` at `id`, in float64. */
export function logProbOf(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return logits[id] - max - Math.log(sum);
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export class LocalModelBackend implements InferenceBackend {
  readonly id: string;
  readonly kind: BackendKind;
  private readonly ids: Set<string>;

  constructor(private readonly opts: LocalModelBackendOptions) {
    this.id = opts.id;
    this.kind = opts.kind;
    this.ids = new Set(opts.modelIds);
  }

  supports(model: string): boolean {
    return this.ids.has(model) && (this.opts.maxParameters === undefined || this.opts.model.parameterCount <= this.opts.maxParameters);
  }

  async *generate(req: GenerateRequest): AsyncGenerator<GeneratedToken> {
    if (!this.supports(req.model)) throw new Error(`${this.id} does not serve model '${req.model}' (it serves ${[...this.ids].join(', ')})`);
    const m = this.opts.model;
    checkGenerateRequest(req, m.vocabSize, m.contextLength);
    const sampler = new Sampler({ temperature: req.sampling.temperature, topK: req.sampling.topK, topP: req.sampling.topP, seed: req.sampling.seed ?? randomSeed() });
    await yieldToEventLoop();
    const session = await m.newSession(req.tokens.length + req.maxTokens);
    const generated: number[] = [];
    try {
      let logits = session.forward(req.tokens);
      for (;;) {
        if (req.signal?.aborted) return;
        const token = sampler.sample(logits);
        generated.push(token);
        yield req.logprobs ? { token, logprob: logProbOf(logits, token) } : { token };
        if (generated.length >= req.maxTokens || endsWithStop(generated, req.stop)) return;
        await yieldToEventLoop();
        if (req.signal?.aborted) return;
        logits = session.forward([token]);
      }
    } finally {
      session.dispose?.();
    }
  }
}

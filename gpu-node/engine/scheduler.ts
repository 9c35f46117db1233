/**
 * @module
 * Continuous batching over a BatchEngine (batch-engine.ts), exposed as an InferenceBackend.
 *
 * One loop owns the engine. Each iteration it drops cancelled sequences (freeing their KV blocks),
 * plans a batch (plan-step.ts: decodes first, then prompt chunks, then admissions by free blocks;
 * preemption of the newest sequence when a decode finds no block), draws each sampled token's
 * uniform from the request's seeded RNG (the stream shared/model/sampling.ts's Sampler uses, so a
 * seed gives the same tokens as the in-process backends), awaits `engine.step`, hands the tokens to
 * the streams, and yields to the event loop before the next iteration.
 *
 * Refusals: a request whose prompt + maxTokens cannot fit the whole KV pool is a RangeError (400);
 * a full queue or a draining node is a SchedulerRefusal (503, the edge retries elsewhere). An engine
 * error fails the requests of that batch with a message naming it; the loop goes on.
 *
 * @example
 *     const backend = createScheduledBackend(engine, { id: 'cuda:llama', modelIds: ['llama'] });
 *     for await (const { token } of backend.generate(req)) send(token);
 *     await backend.drain(); await backend.close();
 */
import { checkGenerateRequest, type BackendKind, type GenerateRequest, type GeneratedToken, type InferenceBackend } from '../../edge/backends/backend.ts';
import { yieldToEventLoop } from '../../edge/backends/local-model.ts';
import type { BatchEngine, EngineInfo, SchedulerStats, SeqResult, SeqStep } from './batch-engine.ts';
import { BlockAllocator } from './kv-blocks.ts';
import { planStep, type PlannedStep } from './plan-step.ts';
import { Sequence } from './sequence.ts';

export const DEFAULT_MAX_QUEUE = 64;
/** Blocks kept free at admission for running sequences to grow into (vLLM keeps 1% too). */
export const DEFAULT_WATERMARK_FRACTION = 0.01;
const MAX_SEQ_ID = 2 ** 31 - 1;

/** Why a request was refused before it started; servers answer 503 (retry elsewhere). */
export class SchedulerRefusal extends Error {
  constructor(
    readonly code: 'queue_full' | 'draining',
    message: string,
  ) {
    super(message);
    this.name = 'SchedulerRefusal';
  }
}

export interface SchedulerOptions {
  id: string;
  modelIds: string[];
  /** Requests waiting for admission (beyond those free sequence slots will take) above which new ones are refused (default 64; 0 = never queue). */
  maxQueue?: number;
  /** Blocks kept free for growth when admitting next to running sequences (default 1% of the pool, at least 1). */
  watermarkBlocks?: number;
  /** Default: 'gpu' for the cuda engine, else the engine's backend name. */
  kind?: BackendKind;
}

/** What one engine step did, for /metrics. */
export interface StepEvent {
  seqs: number;
  tokens: number;
  /** Sequences that sampled a token this step. */
  sampled: number;
  seconds: number;
  ok: boolean;
}

export interface ScheduledBackend extends InferenceBackend {
  readonly info: EngineInfo;
  stats(): SchedulerStats;
  /** Stops admitting new requests; resolves when every running and queued request has finished. */
  drain(): Promise<void>;
  /** Calls `listener` after every engine step; returns the unsubscribe function. */
  onStep(listener: (e: StepEvent) => void): () => void;
  /** Ends the loop and closes the engine (drain first to let streams finish). */
  close(): Promise<void>;
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

export function createScheduledBackend(engine: BatchEngine, opts: SchedulerOptions): ScheduledBackend {
  const info = engine.info;
  const alloc = new BlockAllocator(info.numBlocks, info.blockSize);
  const maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
  const limits = { maxBatchTokens: info.maxBatchTokens, maxSeqs: info.maxSeqs, watermarkBlocks: opts.watermarkBlocks ?? Math.max(1, Math.floor(info.numBlocks * DEFAULT_WATERMARK_FRACTION)) };
  const ids = new Set(opts.modelIds);
  const running: Sequence[] = [];
  const waiting: Sequence[] = [];
  const stepListeners = new Set<(e: StepEvent) => void>();
  let drainWaiters: (() => void)[] = [];
  let nextSeqId = 0;
  let preemptions = 0;
  let draining = false;
  let closed = false;
  let loopRunning = false;
  let wakeLoop: (() => void) | undefined;
  /** The engine step being awaited, so close() lets it end before closing the engine. */
  let inFlight: Promise<unknown> | undefined;

  const wake = () => {
    const w = wakeLoop;
    wakeLoop = undefined;
    w?.();
  };

  /** Frees a sequence's blocks and engine state; it leaves `running`/`waiting` with the caller. */
  const retire = (seq: Sequence) => {
    if (alloc.held(seq.seqId) > 0 || seq.computed > 0) {
      alloc.release(seq.seqId);
      try {
        engine.release(seq.seqId);
      } catch (e) {
        console.error(`scheduler: engine.release(${seq.seqId}) failed: ${(e as Error).message}`);
      }
    }
  };

  const reapCancelled = () => {
    for (const list of [running, waiting]) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i].cancelled) retire(list.splice(i, 1)[0]);
      }
    }
  };

  /** The engine's view of a plan: every step's tokens are views into one buffer (one allocation per step). */
  const toBatch = (steps: PlannedStep<Sequence>[]): SeqStep[] => {
    let total = 0;
    for (const p of steps) total += p.count;
    const buffer = new Int32Array(total);
    let at = 0;
    return steps.map(({ seq, count, sample }) => {
      const position = seq.computed;
      for (let i = 0; i < count; i++) buffer[at + i] = seq.tokens[position + i];
      const tokens = buffer.subarray(at, (at += count));
      const table = alloc.table(seq.seqId);
      const blocks = alloc.blocksFor(position + count);
      const { temperature, topK, topP } = seq.req.sampling;
      return {
        seqId: seq.seqId,
        tokens,
        position,
        blockTable: blocks === table.length ? table : table.subarray(0, blocks),
        // Greedy draws nothing, exactly like Sampler.sample, so seeded streams stay in step with it.
        sample: sample ? { temperature, topK, topP, uniform: temperature > 0 ? seq.rng.next() : 0, logprob: seq.req.logprobs === true } : null,
      };
    });
  };

  const accept = (seq: Sequence, r: SeqResult | undefined) => {
    if (!r) throw new Error(`engine ${info.backend} returned no token for sequence ${seq.seqId}`);
    seq.tokens.push(r.token);
    seq.channel.push(seq.req.logprobs ? { token: r.token, logprob: r.logprob } : { token: r.token });
    if (seq.generated >= seq.req.maxTokens || seq.endsWithStop()) {
      seq.finish();
      removeFrom(running, seq);
      retire(seq);
    }
  };

  const runOnce = async (): Promise<boolean> => {
    reapCancelled();
    const plan = planStep(running, waiting, alloc, limits);
    for (const seq of plan.preempted) {
      preemptions++;
      try {
        engine.release(seq.seqId);
      } catch (e) {
        console.error(`scheduler: engine.release(${seq.seqId}) failed: ${(e as Error).message}`);
      }
    }
    // Nothing to run: idle, or (defensively) every runnable sequence was just preempted, in which
    // case the next iteration may admit again.
    if (plan.steps.length === 0) return plan.preempted.length > 0;
    const batch = toBatch(plan.steps);
    const batchTokens = plan.steps.reduce((n, p) => n + p.count, 0);
    const started = performance.now();
    let results: SeqResult[];
    try {
      const pending = engine.step(batch);
      inFlight = pending;
      results = await pending;
    } catch (e) {
      const err = new Error(`engine ${info.backend} step over ${batch.length} sequences failed: ${(e as Error).message}`);
      for (const { seq } of plan.steps) {
        seq.fail(err);
        removeFrom(running, seq);
        retire(seq);
      }
      emitStep({ seqs: batch.length, tokens: batchTokens, sampled: 0, seconds: (performance.now() - started) / 1000, ok: false });
      return true;
    }
    const bySeq = new Map(results.map((r) => [r.seqId, r]));
    let sampled = 0;
    for (const { seq, count, sample } of plan.steps) {
      seq.computed += count;
      if (!sample || seq.finished) continue; // cancelled (or closed) while the step ran
      sampled++;
      try {
        accept(seq, bySeq.get(seq.seqId));
      } catch (e) {
        seq.fail(e as Error);
        removeFrom(running, seq);
        retire(seq);
      }
    }
    emitStep({ seqs: batch.length, tokens: batchTokens, sampled, seconds: (performance.now() - started) / 1000, ok: true });
    return true;
  };

  const emitStep = (e: StepEvent) => {
    for (const l of stepListeners) l(e);
  };

  const settleDrain = () => {
    if (!draining || running.length > 0 || waiting.length > 0) return;
    for (const w of drainWaiters) w();
    drainWaiters = [];
  };

  const loop = async () => {
    loopRunning = true;
    try {
      while (!closed) {
        const worked = await runOnce();
        settleDrain();
        if (worked) await yieldToEventLoop();
        else if (!closed) await new Promise<void>((resolve) => (wakeLoop = resolve));
      }
    } catch (e) {
      // Only a scheduler bug gets here: fail everything rather than leave streams hanging.
      const err = new Error(`scheduler loop stopped: ${(e as Error).message}`);
      for (const seq of [...running, ...waiting]) {
        seq.fail(err);
        retire(seq);
      }
      running.length = 0;
      waiting.length = 0;
      console.error(err);
    } finally {
      loopRunning = false;
    }
  };

  return {
    id: opts.id,
    kind: opts.kind ?? (info.backend === 'cuda' ? 'gpu' : info.backend),
    info,
    supports: (model) => ids.has(model),

    async *generate(req: GenerateRequest): AsyncGenerator<GeneratedToken> {
      if (!ids.has(req.model)) throw new Error(`${opts.id} does not serve model '${req.model}' (it serves ${[...ids].join(', ')})`);
      checkGenerateRequest(req, info.vocabSize, info.contextLength);
      // The last sampled token is never run, so the cache holds at most prompt + maxTokens - 1 positions.
      const kvTokens = req.tokens.length + req.maxTokens - 1;
      if (alloc.blocksFor(kvTokens) > info.numBlocks) {
        throw new RangeError(`prompt (${req.tokens.length}) + maxTokens (${req.maxTokens}) needs ${alloc.blocksFor(kvTokens)} KV blocks of ${info.blockSize} tokens, more than this node's ${info.numBlocks}: lower max_tokens or shorten the prompt`);
      }
      if (closed || draining) throw new SchedulerRefusal('draining', 'node is draining for shutdown');
      // Requests that free sequence slots will take at the next iteration are not counted as queued.
      const queued = waiting.length - Math.max(0, info.maxSeqs - running.length);
      if (queued >= maxQueue) throw new SchedulerRefusal('queue_full', `queue full (${queued} waiting, max ${maxQueue})`);
      if (req.signal?.aborted) return;
      const seq = new Sequence(nextSeqId, req, req.sampling.seed ?? randomSeed());
      nextSeqId = nextSeqId === MAX_SEQ_ID ? 0 : nextSeqId + 1;
      waiting.push(seq);
      const onAbort = () => {
        seq.cancel();
        wake();
      };
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (!loopRunning) void loop();
      else wake();
      try {
        yield* seq.channel.read();
      } finally {
        req.signal?.removeEventListener('abort', onAbort);
        if (!seq.finished) onAbort(); // the consumer stopped reading early
      }
    },

    stats: () => ({ running: running.length, queued: waiting.length, freeBlocks: alloc.free, totalBlocks: info.numBlocks, preemptions, draining }),

    drain() {
      draining = true;
      return new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        settleDrain();
      });
    },

    onStep(listener) {
      stepListeners.add(listener);
      return () => stepListeners.delete(listener);
    },

    async close() {
      draining = true;
      closed = true;
      wake();
      for (const seq of [...running, ...waiting]) {
        seq.fail(new Error('node is shutting down'));
        retire(seq);
      }
      running.length = 0;
      waiting.length = 0;
      settleDrain();
      await inFlight?.catch(() => undefined);
      await engine.close();
    },
  };
}

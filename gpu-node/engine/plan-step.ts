/**
 * Plans one iteration of continuous batching: which sequences run how many tokens, who is admitted
 * from the queue, and who is preempted to make room. Pure bookkeeping over the block allocator and
 * the two lists (no engine calls), so it is unit-tested on its own.
 *
 * Order of precedence (vLLM's, simplified):
 *   1. decode steps of running sequences (1 token each), oldest admission first, so streams keep
 *      flowing; a decode that needs a new block and finds none preempts the most recently admitted
 *      running sequence (possibly itself), which goes back to the front of the queue;
 *   2. the next prompt chunks of running sequences still prefilling (chunked prefill: a long prompt
 *      takes what is left of the token budget, over as many iterations as it needs);
 *   3. admissions from the queue head, while a sequence slot, token budget and KV blocks are left.
 *      A sequence is admitted only when blocks for all its known tokens fit and, if others are
 *      running, `watermarkBlocks` stay free for their growth. No admission in an iteration that had
 *      to preempt (that would only thrash). The queue is FIFO: a head that does not fit blocks the
 *      others, so large prompts are not starved by small ones.
 */
import type { BlockAllocator } from './kv-blocks.ts';

export interface PlannableSeq {
  readonly seqId: number;
  /** Known tokens (prompt + generated). */
  readonly tokens: { readonly length: number };
  /** Tokens already in the KV cache; reset to 0 on preemption. */
  computed: number;
}

export interface PlanLimits {
  maxBatchTokens: number;
  maxSeqs: number;
  watermarkBlocks: number;
}

export interface PlannedStep<S extends PlannableSeq> {
  seq: S;
  /** Tokens to run: tokens[computed, computed + count). */
  count: number;
  /** True when this chunk reaches the last known token, so the engine samples after it. */
  sample: boolean;
}

export interface StepPlan<S extends PlannableSeq> {
  steps: PlannedStep<S>[];
  admitted: S[];
  /** Newest first; already moved to the front of `waiting`, their blocks freed. */
  preempted: S[];
}

/**
 * Mutates `running` (admission order, oldest first), `waiting` (queue order) and `alloc`. The caller
 * tells the engine to release each preempted sequence.
 */
export function planStep<S extends PlannableSeq>(running: S[], waiting: S[], alloc: BlockAllocator, limits: PlanLimits): StepPlan<S> {
  const steps: PlannedStep<S>[] = [];
  const preempted: S[] = [];
  const admitted: S[] = [];
  let budget = limits.maxBatchTokens;
  const add = (seq: S, count: number) => {
    steps.push({ seq, count, sample: seq.computed + count === seq.tokens.length });
    budget -= count;
  };

  // 1. Decodes. Victims come from the end of `running`, which this loop has not reached yet, so a
  //    victim is never already in `steps` (unless it is the sequence being grown).
  for (let i = 0; i < running.length && budget > 0; i++) {
    const seq = running[i];
    if (seq.tokens.length - seq.computed !== 1) continue;
    let preemptedSelf = false;
    while (!alloc.grow(seq.seqId, seq.tokens.length)) {
      const victim = running.pop()!;
      alloc.release(victim.seqId);
      victim.computed = 0;
      preempted.push(victim);
      if (victim === seq) {
        preemptedSelf = true;
        break;
      }
    }
    if (!preemptedSelf) add(seq, 1);
  }

  // 2. Prompt chunks of running sequences (their blocks were taken at admission).
  for (const seq of running) {
    if (budget <= 0) break;
    const pending = seq.tokens.length - seq.computed;
    if (pending > 1) add(seq, Math.min(pending, budget));
  }

  // 3. Admissions.
  if (preempted.length === 0) {
    while (waiting.length > 0 && budget > 0 && running.length < limits.maxSeqs) {
      const seq = waiting[0];
      const reserve = running.length > 0 ? limits.watermarkBlocks : 0;
      if (alloc.free - alloc.blocksFor(seq.tokens.length) < reserve) break;
      waiting.shift();
      alloc.grow(seq.seqId, seq.tokens.length);
      running.push(seq);
      admitted.push(seq);
      add(seq, Math.min(seq.tokens.length - seq.computed, budget));
    }
  }
  // Preempted sequences resume first, oldest admission first.
  for (const seq of preempted) waiting.unshift(seq);
  return { steps, admitted, preempted };
}

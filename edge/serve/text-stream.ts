/**
 * Turns a dispatched token stream into text deltas: incremental detokenization (multi-byte UTF-8
 * split over tokens is held back by the decoder), end-of-sequence ids, and stop strings, which may
 * span tokens. Text that could still be the start of a stop string is held back until it is not.
 */
import type { EdgeTokenizer } from '../tokenizer.ts';
import type { Dispatched } from './dispatch.ts';

/** Tokens read past our own end (EOS, maxTokens) before giving up on the backend ending too. */
const MAX_TOKENS_AFTER_END = 2;

export type FinishReason = 'stop' | 'length';

export interface TextDelta {
  text: string;
  tokens: number;
}

export interface StreamEnd {
  finishReason: FinishReason;
  completionTokens: number;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function heldBackLength(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let len = Math.min(s.length - 1, text.length); len > hold; len--) {
      if (text.endsWith(s.slice(0, len))) {
        hold = len;
        break;
      }
    }
  }
  return hold;
}

/**
 * Yields text deltas and returns how the stream ended. Throws when the backend fails mid-stream
 * (after `release(false)`); the caller turns that into an error event.
 */
export async function* textStream(d: Dispatched, tokenizer: EdgeTokenizer, stops: readonly string[], maxTokens: number): AsyncGenerator<TextDelta, StreamEnd> {
  const decoder = tokenizer.newDecoder();
  const eos = tokenizer.eosIds; // one or two ids: a Set per request would cost more than includes()
  let pending = '';
  let pendingTokens = 0;
  let count = 0;
  let finishReason: FinishReason = d.first === undefined ? 'stop' : 'length';
  let stoppedByString = false;
  let next = d.first;
  try {
    while (next !== undefined) {
      count++;
      if (eos.includes(next.token)) {
        finishReason = 'stop';
        break;
      }
      pending += decoder.push(next.token);
      pendingTokens++;
      const hit = stops.length ? firstStop(pending, stops) : -1;
      if (hit >= 0) {
        pending = pending.slice(0, hit);
        finishReason = 'stop';
        stoppedByString = true;
        break;
      }
      const hold = stops.length ? heldBackLength(pending, stops) : 0;
      if (pending.length > hold) {
        yield { text: pending.slice(0, pending.length - hold), tokens: pendingTokens };
        pending = pending.slice(pending.length - hold);
        pendingTokens = 0;
      }
      if (count >= maxTokens) break;
      const r = await d.rest.next();
      next = r.done ? undefined : r.value;
      if (r.done && count < maxTokens) finishReason = 'stop';
    }
  } catch (e) {
    d.release(false);
    throw e;
  }
  if (stoppedByString) {
    // A stop string only the edge can see: stop the upstream work we will not use.
    d.abort();
    void d.rest.return?.(undefined)?.catch(() => undefined);
  } else if (next !== undefined) {
    // We stopped at EOS or maxTokens, where the backend stops too: read its end rather than abort,
    // so a remote node's keep-alive connection stays reusable. Bounded, in case a backend overruns.
    try {
      let extra = 0;
      while (!(await d.rest.next()).done) {
        if (++extra > MAX_TOKENS_AFTER_END) {
          d.abort();
          void d.rest.return?.(undefined)?.catch(() => undefined);
          break;
        }
      }
    } catch {
      // The stream already gave us everything we needed.
    }
  }
  d.release(true);
  // After a stop string, what the decoder still holds lies beyond the stop: drop it.
  const tail = stoppedByString ? pending : pending + decoder.flush();
  if (tail) yield { text: tail, tokens: pendingTokens };
  return { finishReason, completionTokens: count };
}

function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

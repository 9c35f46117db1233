/**
 * The three perplexity protocols as lists of windows. A window is a run of token ids w[0..n) fed to the
 * model from position 0 with a fresh cache; every target in it is scored: w[t+1] predicted from
 * w[0..t], for t = 0..n-2. The protocols differ only in how they cut the text into windows:
 *
 *  stream     llama2.c's training/validation loss. Each story is [BOS] + tokens, the stories are
 *             concatenated into one stream of T tokens, and the stream is cut into chunks of
 *             seqlen + 1 tokens overlapping by one (chunk i = stream[i*seqlen .. i*seqlen+seqlen]), so
 *             every one of the T - 1 next-token targets is scored exactly once and positions restart
 *             at 0 in each chunk. (Reference: 6,627 tokens -> 6,626 targets for 20 stories.)
 *  per-story  each story alone: [BOS] + tokens truncated to seqlen, targets 1..n-1.
 *  wikitext   GPTQ's protocol: the whole text tokenized once (one BOS at the start), cut into
 *             floor(T / seqlen) non-overlapping windows of seqlen tokens (the tail is dropped), and
 *             the seqlen - 1 targets inside each window scored (a window's first token has no context).
 */
export type EvalProtocol = 'stream' | 'per-story' | 'wikitext';
export const EVAL_PROTOCOLS: readonly EvalProtocol[] = ['stream', 'per-story', 'wikitext'];

export interface EvalPlan {
  protocol: EvalProtocol;
  seqlen: number;
  windows: Int32Array[];
  /** Tokens of the evaluated text (BOS included, after --max-tokens), windows overlap or not. */
  tokens: number;
  /** Next-token targets scored: sum over windows of (length - 1). */
  targets: number;
  /** Documents (stories) the tokens came from. */
  documents: number;
}

function checkSeqlen(seqlen: number): void {
  if (!Number.isInteger(seqlen) || seqlen < 2) throw new RangeError(`seqlen must be an integer >= 2, got ${seqlen}`);
}

function checkMaxTokens(maxTokens: number | undefined): void {
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 2)) {
    throw new RangeError(`maxTokens must be an integer >= 2 (one input and one target), got ${maxTokens}`);
  }
}

/** `available`: tokens the text had, for the message when nothing can be scored. */
function finish(protocol: EvalProtocol, seqlen: number, windows: Int32Array[], tokens: number, documents: number, available = tokens): EvalPlan {
  const targets = windows.reduce((sum, w) => sum + w.length - 1, 0);
  if (targets === 0) throw new Error(`the ${protocol} protocol found nothing to score (${available} tokens, seqlen ${seqlen}): give more text, or a smaller --seqlen`);
  return { protocol, seqlen, windows, tokens, targets, documents };
}

/** Stream protocol over documents already encoded as [BOS] + tokens. */
export function planStream(documents: readonly number[][], seqlen: number, maxTokens?: number): EvalPlan {
  checkSeqlen(seqlen);
  checkMaxTokens(maxTokens);
  let stream = Int32Array.from(documents.flat());
  if (maxTokens !== undefined && stream.length > maxTokens) stream = stream.subarray(0, maxTokens);
  const windows: Int32Array[] = [];
  for (let start = 0; start + 1 < stream.length; start += seqlen) {
    windows.push(stream.subarray(start, Math.min(start + seqlen + 1, stream.length)));
  }
  return finish('stream', seqlen, windows, stream.length, documents.length);
}

/** Per-story protocol; with maxTokens, stories are taken in order until that many tokens are used. */
export function planPerStory(documents: readonly number[][], seqlen: number, maxTokens?: number): EvalPlan {
  checkSeqlen(seqlen);
  checkMaxTokens(maxTokens);
  const windows: Int32Array[] = [];
  let tokens = 0;
  for (const doc of documents) {
    const budget = maxTokens === undefined ? seqlen : Math.min(seqlen, maxTokens - tokens);
    if (budget <= 0) break;
    const window = Int32Array.from(doc.slice(0, budget));
    tokens += window.length;
    if (window.length >= 2) windows.push(window);
  }
  return finish('per-story', seqlen, windows, tokens, windows.length);
}

/** WikiText (GPTQ) protocol over the text encoded once with one BOS. */
export function planWikitext(encoded: readonly number[], seqlen: number, maxTokens?: number): EvalPlan {
  checkSeqlen(seqlen);
  checkMaxTokens(maxTokens);
  const all = Int32Array.from(maxTokens === undefined ? encoded : encoded.slice(0, maxTokens));
  const windows: Int32Array[] = [];
  for (let start = 0; start + seqlen <= all.length; start += seqlen) windows.push(all.subarray(start, start + seqlen));
  return finish('wikitext', seqlen, windows, windows.length * seqlen, 1, all.length);
}

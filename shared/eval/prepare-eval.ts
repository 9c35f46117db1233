/**
 * From an evaluation text file's contents to an EvalPlan: picks the documents, tokenizes them as the
 * protocol says, and cuts windows (eval-plan.ts).
 */
import { type EvalPlan, type EvalProtocol, planPerStory, planStream, planWikitext } from './eval-plan.ts';
import { collapseNewlines, splitStories, wikitextGptqText } from './eval-text.ts';

/** The part of shared/tokenizer's Tokenizer that evaluation uses. */
export interface TextEncoderLike {
  encode(text: string, options?: { addBos?: boolean }): number[];
}

export interface EvalDataOptions {
  protocol: EvalProtocol;
  seqlen: number;
  /** Use at most this many tokens of the text (see eval-plan.ts for each protocol). */
  maxTokens?: number;
  /** stream and per-story: only the first N stories. */
  stories?: number;
  /** stream and per-story: collapse blank-line breaks to single newlines (eval-text.ts). */
  collapseNewlines?: boolean;
}

export function prepareEval(text: string, tokenizer: TextEncoderLike, options: EvalDataOptions): EvalPlan {
  const { protocol, seqlen, maxTokens } = options;
  if (protocol === 'wikitext') {
    if (options.stories !== undefined) throw new Error('--stories applies to the stream and per-story protocols; the wikitext protocol reads the whole text (use --max-tokens)');
    if (options.collapseNewlines) throw new Error('--collapse-newlines applies to the stream and per-story protocols, not to wikitext');
    return planWikitext(tokenizer.encode(wikitextGptqText(text), { addBos: true }), seqlen, maxTokens);
  }
  let stories = splitStories(text);
  if (options.stories !== undefined) {
    if (!Number.isInteger(options.stories) || options.stories < 1) throw new RangeError(`stories must be a positive integer, got ${options.stories}`);
    stories = stories.slice(0, options.stories);
  }
  if (stories.length === 0) throw new Error('the evaluation text holds no stories (it is empty, or only <|endoftext|> separators)');
  // Encoding stops early once maxTokens are reached: a 7B-vocabulary file need not be tokenized whole.
  const documents: number[][] = [];
  let tokens = 0;
  for (const story of stories) {
    if (maxTokens !== undefined && tokens >= maxTokens) break;
    const ids = tokenizer.encode(options.collapseNewlines ? collapseNewlines(story) : story, { addBos: true });
    documents.push(ids);
    tokens += ids.length;
  }
  return protocol === 'stream' ? planStream(documents, seqlen, maxTokens) : planPerStory(documents, seqlen, maxTokens);
}

/**
 * What the edge needs from a tokenizer, and the adapter from shared/tokenizer's `Tokenizer`
 * (runtime-free: the tokenizer is built from tokenizer.json text, which Node reads from disk and a
 * Worker imports as a Text module).
 */
import { Template } from '@huggingface/jinja';
import { FALLBACK_CHAT_TEMPLATE, IncrementalDecoder, createTokenizer, type Tokenizer, type TokenizerSources } from '../shared/tokenizer/index.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'developer' | 'tool';
  content: string;
}

/** Turns streamed ids into text pieces; holds back bytes of a UTF-8 character split across tokens. */
export interface TextDecoderStream {
  push(id: number): string;
  /** Whatever is still held back at the end (replacement characters for an incomplete sequence). */
  flush(): string;
}

export interface EdgeTokenizer {
  readonly vocabSize: number;
  readonly eosIds: readonly number[];
  encode(text: string, opts: { addBos: boolean }): number[];
  /** Whole-sequence decode (special tokens skipped). */
  decode(ids: number[]): string;
  /** Renders the conversation with the model's chat template (applyChatTemplate) and encodes it. */
  encodeChat(messages: ChatMessage[]): number[];
  newDecoder(): TextDecoderStream;
}

/** Id windows up to this long are cached: an IncrementalDecoder decodes one or two ids per step. */
const MAX_CACHED_DECODE_WINDOW = 3;
/** Entries kept before the cache is dropped and refilled (short strings: a few MB at most). */
const MAX_DECODE_CACHE_ENTRIES = 65_536;

/**
 * The tokenizer as IncrementalDecoder sees it, with decode() of short id windows cached. Each
 * streamed token costs two decodes of one or two ids (prefix, prefix + new), several microseconds
 * each in tokenizers.js; the results are a pure function of the ids and the option, so a cache is
 * exact (ids outside the vocabulary still throw and are not cached). Common token pairs recur
 * across requests, so real traffic hits it too, not only a benchmark that repeats one prompt.
 */
function withDecodeCache(t: Tokenizer): Tokenizer {
  const cache = new Map<string, string>();
  const view = Object.create(t) as Tokenizer;
  view.decode = (ids, options = {}) => {
    if (ids.length > MAX_CACHED_DECODE_WINDOW) return t.decode(ids, options);
    let key = options.skipSpecialTokens === false ? 'k' : 's';
    for (let i = 0; i < ids.length; i++) key += `,${ids[i]}`;
    let text = cache.get(key);
    if (text === undefined) {
      text = t.decode(ids, options);
      if (cache.size >= MAX_DECODE_CACHE_ENTRIES) cache.clear();
      cache.set(key, text);
    }
    return text;
  };
  return view;
}

export function edgeTokenizer(t: Tokenizer): EdgeTokenizer {
  const forDecoders = withDecodeCache(t);
  return {
    vocabSize: t.vocabSize,
    eosIds: t.eosIds,
    encode: (text, opts) => t.encode(text, opts),
    decode: (ids) => t.decode(ids),
    // The template writes BOS itself, so encode must not add a second one.
    encodeChat: (messages) => t.encode(renderChat(t, messages), { addBos: false }),
    newDecoder: () => new IncrementalDecoder(forDecoders),
  };
}

export function edgeTokenizerFromSources(sources: TokenizerSources): EdgeTokenizer {
  return edgeTokenizer(createTokenizer(sources));
}

/**
 * Workaround (reported to the tokenizer helper): with @huggingface/jinja 0.5.11, shared/tokenizer's
 * applyChatTemplate throws "Variable already declared: raise_exception", because that jinja version
 * defines raise_exception itself. Until it is fixed there, render the same template with the same
 * variables minus raise_exception. Used only when applyChatTemplate fails with exactly that error.
 */
function renderChat(t: Tokenizer, messages: ChatMessage[]): string {
  try {
    return t.applyChatTemplate(messages);
  } catch (e) {
    if (!/already declared: raise_exception/.test((e as Error).message)) throw e;
    const piece = (id: number | undefined) => (id === undefined ? '' : (t.idToPiece(id) ?? ''));
    return new Template(t.chatTemplate ?? FALLBACK_CHAT_TEMPLATE).render({
      messages,
      bos_token: piece(t.bosId),
      eos_token: piece(t.eosIds[0]),
      add_generation_prompt: true,
    });
  }
}

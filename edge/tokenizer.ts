/**
 * What the edge needs from a tokenizer, and the adapter from shared/tokenizer's `Tokenizer`
 * (runtime-free: the tokenizer is built from tokenizer.json text, which Node reads from disk and a
 * Worker imports as a Text module).
 */
import { IncrementalDecoder, createTokenizer, type Tokenizer, type TokenizerSources } from '../shared/tokenizer/index.ts';

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
  /** Renders the conversation with the model's chat template (applyChatTemplate) and encodes it. */
  encodeChat(messages: ChatMessage[]): number[];
  newDecoder(): TextDecoderStream;
}

export function edgeTokenizer(t: Tokenizer): EdgeTokenizer {
  return {
    vocabSize: t.vocabSize,
    eosIds: t.eosIds,
    encode: (text, opts) => t.encode(text, opts),
    // The template writes BOS itself, so encode must not add a second one.
    encodeChat: (messages) => t.encode(t.applyChatTemplate(messages), { addBos: false }),
    newDecoder: () => new IncrementalDecoder(t),
  };
}

export function edgeTokenizerFromSources(sources: TokenizerSources): EdgeTokenizer {
  return edgeTokenizer(createTokenizer(sources));
}

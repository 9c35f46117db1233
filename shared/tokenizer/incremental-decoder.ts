/**
 * Streams text while a model generates, one token id at a time.
 *
 * Two things make `decode([id])` per token wrong:
 *  - byte fallback: a character outside the vocabulary is spelled as byte tokens ("😀" is
 *    <0xF0><0x9F><0x98><0x80>); any prefix of them decodes to U+FFFD;
 *  - the leading space: SentencePiece-style decoders turn '▁' into ' ' and strip one space at the start
 *    of the text, so "▁world" decodes alone to "world" but to " world" after "Hello".
 *
 * The method (the one of text-generation-inference and transformers' TextStreamer): keep two offsets
 * into the ids. `prefix..read` are the tokens emitted last; on each new id, decode `prefix..end` and
 * `prefix..read` with the tokenizer's own decode and emit the difference, unless the text so far ends in
 * U+FFFD (an unfinished UTF-8 sequence: wait for more bytes). Decoding from `prefix` gives the new
 * tokens their left context, so spaces come out as in a full decode, and each step costs a few tokens.
 *
 * Guarantee: the pieces returned by push() and flush() concatenate to exactly
 * `tokenizer.decode(allIds)` (with the same skipSpecialTokens), and no piece ends in the middle of a
 * character. The one exception is garbage: if more than MAX_HELD_TOKENS consecutive tokens keep the text
 * ending in U+FFFD, the held text is released as it stands (so the window cannot grow without bound),
 * and the replacement characters may then differ from a full decode.
 *
 * Runtime-free (no node: imports).
 */
import type { Tokenizer } from './tokenizer.ts';

/** A UTF-8 character is at most 4 bytes; anything held much longer is not waiting for a character. */
export const MAX_HELD_TOKENS = 16;

const REPLACEMENT_CHAR = '\uFFFD';

export interface IncrementalDecoderOptions {
  /** As in Tokenizer.decode. Default true. */
  skipSpecialTokens?: boolean;
}

export class IncrementalDecoder {
  private readonly all: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  private emittedText = '';
  private readonly skipSpecialTokens: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    options: IncrementalDecoderOptions = {},
  ) {
    this.skipSpecialTokens = options.skipSpecialTokens ?? true;
  }

  /** Feeds one id; returns the text it completes ('' while a character is still unfinished). */
  push(id: number): string {
    this.all.push(id);
    const { prefixText, newText } = this.window();
    const held = this.all.length - this.readOffset;
    if (newText.length > prefixText.length && (!newText.endsWith(REPLACEMENT_CHAR) || held > MAX_HELD_TOKENS)) {
      return this.emit(newText.slice(prefixText.length));
    }
    return '';
  }

  /** Feeds several ids; returns the text they complete. */
  pushAll(ids: Iterable<number>): string {
    let text = '';
    for (const id of ids) text += this.push(id);
    return text;
  }

  /** At the end of generation: releases any held text (an unfinished character decodes to U+FFFD). */
  flush(): string {
    if (this.readOffset === this.all.length) return '';
    const { prefixText, newText } = this.window();
    return this.emit(newText.slice(prefixText.length));
  }

  /** Every id fed so far. */
  get ids(): readonly number[] {
    return this.all;
  }

  /** All text emitted so far. */
  get text(): string {
    return this.emittedText;
  }

  private window(): { prefixText: string; newText: string } {
    const opts = { skipSpecialTokens: this.skipSpecialTokens };
    const prefixText = this.tokenizer.decode(this.all.slice(this.prefixOffset, this.readOffset), opts);
    const newText = this.tokenizer.decode(this.all.slice(this.prefixOffset), opts);
    return { prefixText, newText };
  }

  private emit(piece: string): string {
    this.prefixOffset = this.readOffset;
    this.readOffset = this.all.length;
    this.emittedText += piece;
    return piece;
  }
}

/**
 * An independent oracle for the tokenizer tests: llama2.c's `encode` (run.c), re-implemented from its
 * description, reading llama2.c's own `.bin` tokenizer export rather than tokenizer.json. It shares no
 * code or data with @huggingface/tokenizers, so agreement between the two is real evidence.
 *
 * File format (little-endian): int32 max_token_length, then for every token: f32 score, int32 len, len
 * bytes (the piece; spaces are ' ', not '▁'; byte tokens are the text "<0xNN>"). The vocabulary size is
 * not stored: tokens run to the end of the file.
 *
 * Algorithm: optional BOS (id 1); a dummy-prefix " " token when the text is not empty; then each UTF-8
 * code point becomes its own piece if it is in the vocabulary, else one byte-fallback token per byte
 * (id = byte + 3); then, repeatedly, the adjacent pair whose concatenation is in the vocabulary with the
 * highest score (first such pair on ties) is merged, until no pair merges.
 */
import { readFileSync } from 'node:fs';

const BOS_ID = 1;
const BYTE_FALLBACK_OFFSET = 3;

export class Llama2cTokenizer {
  /** Pieces as "binary strings" (one char per byte), so lookups never depend on UTF-8 decoding. */
  readonly pieces: string[] = [];
  readonly scores: number[] = [];
  private readonly idOf = new Map<string, number>();
  private readonly pairCache = new Map<number, number>();

  constructor(fileBytes: Uint8Array) {
    const view = new DataView(fileBytes.buffer, fileBytes.byteOffset, fileBytes.byteLength);
    let pos = 4; // skip max_token_length
    while (pos < fileBytes.length) {
      const score = view.getFloat32(pos, true);
      const len = view.getInt32(pos + 4, true);
      pos += 8;
      if (len < 0 || pos + len > fileBytes.length) throw new Error(`llama2.c tokenizer: bad piece length ${len} at byte ${pos - 4}`);
      const piece = String.fromCharCode(...fileBytes.subarray(pos, pos + len));
      pos += len;
      const id = this.pieces.length;
      this.pieces.push(piece);
      this.scores.push(score);
      // run.c sorts the vocabulary and binary-searches it; the first id wins on duplicate pieces.
      if (!this.idOf.has(piece)) this.idOf.set(piece, id);
    }
  }

  static fromFile(path: string): Llama2cTokenizer {
    return new Llama2cTokenizer(new Uint8Array(readFileSync(path)));
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** `dummyPrefix: false` encodes a continuation (a text that does not start the document). */
  encode(text: string, addBos: boolean, dummyPrefix = true): number[] {
    const tokens: number[] = [];
    if (addBos) tokens.push(BOS_ID);
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > 0 && dummyPrefix) tokens.push(this.lookup(' '));
    let i = 0;
    while (i < bytes.length) {
      // A code point: a lead byte plus its continuation bytes (10xxxxxx), at most 4 bytes, as in run.c.
      let end = i + 1;
      while (end < bytes.length && (bytes[end] & 0xc0) === 0x80 && end - i < 4) end++;
      const piece = String.fromCharCode(...bytes.subarray(i, end));
      const id = this.idOf.get(piece);
      if (id !== undefined) tokens.push(id);
      else for (let b = i; b < end; b++) tokens.push(bytes[b] + BYTE_FALLBACK_OFFSET);
      i = end;
    }
    const start = addBos ? 1 : 0;
    for (;;) {
      let bestScore = -Infinity;
      let bestId = -1;
      let bestAt = -1;
      for (let k = start; k < tokens.length - 1; k++) {
        const id = this.pairId(tokens[k], tokens[k + 1]);
        if (id >= 0 && this.scores[id] > bestScore) {
          bestScore = this.scores[id];
          bestId = id;
          bestAt = k;
        }
      }
      if (bestAt < 0) break;
      tokens.splice(bestAt, 2, bestId);
    }
    return tokens;
  }

  /**
   * encode() for long texts: the merge loop is quadratic, so the text is cut at every "\n" and the
   * pieces encoded separately. That is exact when no vocabulary piece contains "\n" (then no merge can
   * reach across a newline, which is byte-fallback token <0x0A> on its own); checked here.
   */
  encodeLong(text: string, addBos: boolean): number[] {
    if (this.pieces.some((p, id) => id !== BOS_ID && id !== BOS_ID + 1 && p.includes('\n'))) {
      throw new Error('encodeLong: a vocabulary piece contains a newline, so cutting at newlines is not exact');
    }
    const parts = text.split(/(?=\n)|(?<=\n)/);
    return parts.flatMap((part, i) => this.encode(part, addBos && i === 0, i === 0));
  }

  /** The id of piece(a) + piece(b), or -1; memoised by pair because the merge loop asks again and again. */
  private pairId(a: number, b: number): number {
    const key = a * this.pieces.length + b;
    let id = this.pairCache.get(key);
    if (id === undefined) {
      id = this.idOf.get(this.pieces[a] + this.pieces[b]) ?? -1;
      this.pairCache.set(key, id);
    }
    return id;
  }

  private lookup(piece: string): number {
    const id = this.idOf.get(piece);
    if (id === undefined) throw new Error(`llama2.c tokenizer: piece ${JSON.stringify(piece)} not in the vocabulary`);
    return id;
  }
}

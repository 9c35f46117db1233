import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { IncrementalDecoder, MAX_HELD_TOKENS, type Tokenizer, loadTokenizer } from '../../../shared/tokenizer/node.ts';
import { splitStories } from '../../../shared/eval/eval-text.ts';
import { Rng } from '../../../shared/util/rng.ts';
import { describeWithShared, sharedPath, TINYSTORIES_TXT } from '../../helpers/shared-data.ts';
import { HARD_STRINGS } from './hard-strings.ts';
import { GOLDEN_TOKENIZERS } from './golden-tokenizers.ts';

/** Feeds ids one by one; returns every piece (including the flush). */
function stream(tokenizer: Tokenizer, ids: readonly number[], skipSpecialTokens = true): string[] {
  const decoder = new IncrementalDecoder(tokenizer, { skipSpecialTokens });
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  expect(decoder.text).toBe(pieces.join(''));
  return pieces;
}

/** A piece that splits a character: a lone surrogate at either end, or a replacement character. */
function brokenPiece(piece: string): boolean {
  return /^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$|\uFFFD/.test(piece);
}

for (const spec of GOLDEN_TOKENIZERS) {
  describeWithShared(`IncrementalDecoder: ${spec.name}`, () => {
    let tokenizer: Tokenizer;
    beforeAll(async () => {
      tokenizer = await loadTokenizer(sharedPath(...spec.hfDir));
    });

    it('streams every hard string back exactly, never splitting a character', () => {
      for (const text of HARD_STRINGS) {
        const ids = tokenizer.encode(text, { addBos: true });
        const pieces = stream(tokenizer, ids);
        expect(pieces.join(''), JSON.stringify(text)).toBe(text);
        expect(pieces.join('')).toBe(tokenizer.decode(ids));
        for (const piece of pieces) expect(brokenPiece(piece), `${JSON.stringify(text)}: piece ${JSON.stringify(piece)}`).toBe(false);
      }
    });

    it('holds byte-fallback tokens back until the character is complete', () => {
      const ids = tokenizer.encode('a 😀', { addBos: false });
      const bytes = ['<0xF0>', '<0x9F>', '<0x98>', '<0x80>'].map((p) => tokenizer.pieceToId(p)!);
      expect(ids.slice(-4)).toEqual(bytes);
      const pieces = stream(tokenizer, ids);
      expect(pieces.slice(-5)).toEqual(['', '', '', '😀', '']);
      expect(pieces.join('')).toBe('a 😀');
    });

    it("gives a word its space only after another word (the '▁' rule)", () => {
      const pieces = stream(tokenizer, tokenizer.encode('Hello world', { addBos: true })).filter((p) => p !== '');
      expect(pieces[0].startsWith('H')).toBe(true);
      expect(pieces.join('')).toBe('Hello world');
      expect(pieces.some((p) => p.startsWith(' w'))).toBe(true);
    });

    it('keeps special tokens when asked to', () => {
      const ids = [...tokenizer.encode('Hi there', { addBos: true }), 2, ...tokenizer.encode('again', { addBos: true })];
      expect(stream(tokenizer, ids, false).join('')).toBe(tokenizer.decode(ids, { skipSpecialTokens: false }));
      expect(stream(tokenizer, ids).join('')).toBe(tokenizer.decode(ids));
    });

    it('streams the whole TinyStories file (mojibake stories included) exactly as decode() prints it', () => {
      const stories = splitStories(readFileSync(TINYSTORIES_TXT!, 'utf8'));
      const ids = stories.flatMap((s) => tokenizer.encode(s, { addBos: true }));
      const pieces = stream(tokenizer, ids);
      expect(pieces.join('')).toBe(tokenizer.decode(ids));
      expect(pieces.filter(brokenPiece)).toEqual([]);
    });

    it('matches decode() on random id streams with broken and unfinished byte sequences', () => {
      const rng = new Rng(42);
      const byteIds = Array.from({ length: 256 }, (_, b) => tokenizer.pieceToId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!);
      for (let trial = 0; trial < 200; trial++) {
        const ids: number[] = [];
        const length = rng.int(1, 40);
        while (ids.length < length) {
          const kind = rng.next();
          if (kind < 0.55) ids.push(rng.int(0, tokenizer.vocabSize - 1));
          else if (kind < 0.9) ids.push(byteIds[rng.int(0x80, 0xff)]); // lead or continuation bytes, often invalid
          else ids.push(...tokenizer.encode('é😀中', { addBos: false })); // valid multi-byte runs
        }
        expect(stream(tokenizer, ids).join(''), `ids ${JSON.stringify(ids)}`).toBe(tokenizer.decode(ids));
      }
    });

    it(`releases held text after ${MAX_HELD_TOKENS} tokens that keep a character unfinished`, () => {
      const lead = tokenizer.pieceToId('<0xE4>')!;
      const decoder = new IncrementalDecoder(tokenizer);
      const pieces = Array.from({ length: MAX_HELD_TOKENS + 1 }, () => decoder.push(lead));
      expect(pieces.slice(0, MAX_HELD_TOKENS).every((p) => p === '')).toBe(true);
      expect(pieces[MAX_HELD_TOKENS]).toMatch(/^\uFFFD+$/);
    });
  });
}

/**
 * edge/tokenizer.ts: the streaming decoder it hands out (IncrementalDecoder over a decode cache)
 * must give exactly what an uncached IncrementalDecoder gives, piece by piece, including byte
 * fallback and multi-byte characters split across tokens, and on a second pass served from the cache.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createTokenizer, IncrementalDecoder } from '../../shared/tokenizer/index.ts';
import { edgeTokenizer } from '../../edge/tokenizer.ts';
import { describeWithShared, STORIES260K_DIR } from '../helpers/shared-data.ts';

const TEXTS = ['Once upon a time, there was a little girl named Lily.', 'héllo wörld — naïve café ✓ 😀 日本語', 'Tom said: "No!"\n\nThe end.'];

describeWithShared('edgeTokenizer streaming decoder', () => {
  it('matches an uncached IncrementalDecoder piece by piece, twice (second pass from the cache)', () => {
    const dir = STORIES260K_DIR!;
    const t = createTokenizer({ tokenizerJson: readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), tokenizerConfig: readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8') });
    const edge = edgeTokenizer(t);
    for (let pass = 0; pass < 2; pass++) {
      for (const text of TEXTS) {
        const ids = t.encode(text, { addBos: false });
        const plain = new IncrementalDecoder(t);
        const cached = edge.newDecoder();
        const a = ids.map((id) => plain.push(id));
        const b = ids.map((id) => cached.push(id));
        expect(b).toEqual(a);
        expect(cached.flush()).toBe(plain.flush());
        expect(b.join('')).toBe(t.decode(ids));
      }
    }
    expect(() => edge.newDecoder().push(t.vocabSize + 5)).toThrow(/outside the vocabulary/);
  });
});

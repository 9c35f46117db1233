import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { type Tokenizer, loadTokenizer } from '../../../shared/tokenizer/node.ts';
import { describeWithShared, sharedPath, TINYSTORIES_TXT, WIKITEXT_TEST } from '../../helpers/shared-data.ts';
import { splitStories, wikitextGptqText } from '../../../shared/eval/eval-text.ts';
import { HARD_STRINGS } from './hard-strings.ts';
import { GOLDEN_TOKENIZERS } from './golden-tokenizers.ts';
import { Llama2cTokenizer } from './llama2c-oracle.ts';
import golden from './fixtures/golden-ids.json' with { type: 'json' };

const goldenTables = golden.tokenizers as Record<string, { text: string; ids: number[] }[]>;

it('the frozen golden table covers every hard string for both tokenizers', () => {
  for (const { name } of GOLDEN_TOKENIZERS) {
    expect(goldenTables[name].map((r) => r.text)).toEqual(HARD_STRINGS);
  }
});

for (const spec of GOLDEN_TOKENIZERS) {
  describeWithShared(`golden ids: ${spec.name}`, () => {
    let tokenizer: Tokenizer;
    let oracle: Llama2cTokenizer;
    let stories: string[];
    beforeAll(async () => {
      tokenizer = await loadTokenizer(sharedPath(...spec.hfDir));
      oracle = Llama2cTokenizer.fromFile(sharedPath(...spec.llama2cBin));
      stories = splitStories(readFileSync(TINYSTORIES_TXT!, 'utf8'));
    });

    it('encodes every hard string to the frozen ids, and so does the llama2.c oracle', () => {
      for (const { text, ids } of goldenTables[spec.name]) {
        expect(tokenizer.encode(text, { addBos: true }), JSON.stringify(text)).toEqual(ids);
        expect(oracle.encode(text, true), JSON.stringify(text)).toEqual(ids);
        // The library's own one-call path too (encode() normally cuts the text into words first).
        expect([1, ...(tokenizer as unknown as { encodeWhole(s: string): number[] }).encodeWhole(text)], JSON.stringify(text)).toEqual(ids);
        expect(tokenizer.decode(ids), JSON.stringify(text)).toBe(text);
      }
    });

    it(`counts ${spec.tinyStoriesTokens.toLocaleString('en-US')} tokens on the 1,000 TinyStories stories ([BOS] + tokens each), id for id with the oracle`, () => {
      expect(stories).toHaveLength(1000);
      let count = 0;
      for (const story of stories) {
        const ids = tokenizer.encode(story, { addBos: true });
        count += ids.length;
        // The oracle's merge loop is quadratic: it cuts at newlines (exact, see encodeLong) to keep this fast.
        const expected = oracle.encodeLong(story, true);
        if (ids.join(',') !== expected.join(',')) expect(ids, story).toEqual(expected);
      }
      expect(count).toBe(spec.tinyStoriesTokens);
    });
  });
}

describeWithShared('word-by-word encoding (word-cut-encoder.ts)', () => {
  let llama2: Tokenizer;
  let gptqText: string;
  beforeAll(async () => {
    llama2 = await loadTokenizer(sharedPath('models', 'llama2-tokenizer'));
    gptqText = wikitextGptqText(readFileSync(WIKITEXT_TEST!, 'utf8'));
  });

  it('gives the ids of the plain one-call path of the library and of the oracle', () => {
    const oracle = Llama2cTokenizer.fromFile(sharedPath('models', 'llama2c', 'tokenizer.bin'));
    const sample = gptqText.slice(0, 12_000) + ' 😀 tail  with  spaces\n \n';
    const viaWords = llama2.encode(sample);
    const plain = (llama2 as unknown as { encodeWhole(s: string): number[] }).encodeWhole(sample);
    expect(viaWords).toEqual([1, ...plain]);
    expect(viaWords).toEqual(oracle.encodeLong(sample, true));
  });

  it('counts the WikiText-2 test set: 335,688 tokens raw and 341,469 GPTQ-joined (one BOS)', () => {
    expect(llama2.encode(readFileSync(WIKITEXT_TEST!, 'utf8'))).toHaveLength(335_688);
    expect(llama2.encode(gptqText)).toHaveLength(341_469);
  });
});

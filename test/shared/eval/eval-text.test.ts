import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { collapseNewlines, splitStories, wikitextGptqText } from '../../../shared/eval/eval-text.ts';
import { type Tokenizer, loadTokenizer } from '../../../shared/tokenizer/node.ts';
import { describeWithShared, STORIES260K_DIR, TINYSTORIES_TXT, WIKITEXT_TEST } from '../../helpers/shared-data.ts';

describe('eval text helpers', () => {
  it('splitStories splits on <|endoftext|>, strips, and skips empty pieces', () => {
    expect(splitStories('One.\n<|endoftext|>\n  Two\n\nparas. \n<|endoftext|>\n\n<|endoftext|>\n')).toEqual(['One.', 'Two\n\nparas.']);
    expect(splitStories('no separator')).toEqual(['no separator']);
  });

  it('collapseNewlines turns any whitespace run holding a newline into one "\\n"', () => {
    expect(collapseNewlines('a.\n\nb. \n\nc \nd\n \n e  f')).toBe('a.\nb.\nc\nd\ne  f');
  });

  it('wikitextGptqText joins the rows with blank lines, blank rows empty', () => {
    expect(wikitextGptqText(' \n = Title = \n \n Text .\n')).toBe('' + '\n\n' + ' = Title = \n' + '\n\n' + '' + '\n\n' + ' Text .\n');
  });
});

describeWithShared('eval text on the real files', () => {
  let tokenizer: Tokenizer;
  let stories: string[];
  beforeAll(async () => {
    tokenizer = await loadTokenizer(STORIES260K_DIR!);
    stories = splitStories(readFileSync(TINYSTORIES_TXT!, 'utf8'));
  });

  it('--collapse-newlines reproduces the reference token counts: 6,580 / 73,685 / 386,062', () => {
    const count = (n: number) => stories.slice(0, n).reduce((sum, s) => sum + tokenizer.encode(collapseNewlines(s), { addBos: true }).length, 0);
    expect([count(20), count(200), count(1000)]).toEqual([6580, 73685, 386062]);
  });

  it('rebuilds the GPTQ WikiText-2 text byte for byte (1,296,370 bytes, sha256 696cca6b...)', () => {
    const text = wikitextGptqText(readFileSync(WIKITEXT_TEST!, 'utf8'));
    expect(Buffer.byteLength(text)).toBe(1_296_370);
    expect(createHash('sha256').update(text).digest('hex')).toBe('696cca6b65a171b0a358a4be6732cdfdf2dd6164a32e20fd70e3c13fc4dfae83');
  });
});

/**
 * Regenerates fixtures/golden-ids.json: the ids of HARD_STRINGS (with BOS) under both tokenizers,
 * computed by the independent llama2.c oracle from the .bin tokenizers, and refused unless
 * @huggingface/tokenizers (through shared/tokenizer) gives the same ids. The tests then check the
 * library against this frozen table and against the oracle again.
 *
 *   npx tsx test/shared/tokenizer/generate-golden-ids.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../../shared/tokenizer/node.ts';
import { sharedPath } from '../../helpers/shared-data.ts';
import { HARD_STRINGS } from './hard-strings.ts';
import { Llama2cTokenizer } from './llama2c-oracle.ts';
import { GOLDEN_TOKENIZERS } from './golden-tokenizers.ts';

const table: Record<string, { text: string; ids: number[] }[]> = {};
for (const { name, hfDir, llama2cBin } of GOLDEN_TOKENIZERS) {
  const oracle = Llama2cTokenizer.fromFile(sharedPath(...llama2cBin));
  const tokenizer = await loadTokenizer(sharedPath(...hfDir));
  table[name] = HARD_STRINGS.map((text) => {
    const ids = oracle.encode(text, true);
    const lib = tokenizer.encode(text, { addBos: true });
    if (JSON.stringify(ids) !== JSON.stringify(lib)) {
      throw new Error(`${name}: library and oracle disagree on ${JSON.stringify(text)}: ${JSON.stringify(lib)} vs ${JSON.stringify(ids)}`);
    }
    return { text, ids };
  });
}
const out = fileURLToPath(new URL('./fixtures/golden-ids.json', import.meta.url));
// One string per line, so a diff shows which string changed.
const body = Object.entries(table)
  .map(([name, rows]) => `  ${JSON.stringify(name)}: [\n${rows.map((r) => `   ${JSON.stringify(r)}`).join(',\n')}\n  ]`)
  .join(',\n');
const generatedBy = 'test/shared/tokenizer/generate-golden-ids.ts (llama2.c oracle, checked against @huggingface/tokenizers)';
writeFileSync(out, `{\n "generatedBy": ${JSON.stringify(generatedBy)},\n "tokenizers": {\n${body}\n }\n}\n`);
console.log(`wrote ${out}`);

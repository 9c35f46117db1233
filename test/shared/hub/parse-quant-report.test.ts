import { describe, expect, it } from 'vitest';
import { parseQuantReport } from '../../../shared/hub/parse-quant-report.ts';

describe('parseQuantReport', () => {
  it('reads the perplexity table that abq-pack quantize --eval writes', () => {
    const report = [
      '# stories260K (W4A8, rtn)', '', '## Configuration', '', '- method: rtn', '',
      '## Measured perplexity', '', '| text | full precision | this model | path |', '|---|---:|---:|---|',
      '| stories.txt, first 5 documents (stream, 512) | 3.6288 | 4.1263 | integer |',
      '| wiki.test.raw (wikitext, 2048) | - | 9.5000 | integer |', '', 'trailing text | not a row |',
    ].join('\n');
    expect(parseQuantReport(report)).toEqual([
      { metric: 'perplexity', dataset: 'stories.txt, first 5 documents (stream, 512)', value: 4.1263, baseline: 3.6288 },
      { metric: 'perplexity', dataset: 'wiki.test.raw (wikitext, 2048)', value: 9.5, baseline: undefined },
    ]);
  });

  it('finds nothing in a report without measurements', () => {
    expect(parseQuantReport('# m\n\nPerplexity was not measured for this export.\n')).toEqual([]);
  });
});

import path from 'node:path';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModelCard, quantLabel } from '../../../shared/hub/model-card.ts';
import { prepareModelCard } from '../../../shared/hub/push-model.ts';
import { readEvalResults } from '../../../shared/hub/read-eval-results.ts';
import { readModelSummary, type ModelSummary } from '../../../shared/hub/read-model-summary.ts';
import { frontMatterField, frontMatterList, toYaml } from '../../../shared/hub/yaml.ts';
import { makePackedModel, tempDir } from './fixtures.ts';

describe('model card', () => {
  let work: string;
  let summary: ModelSummary;

  beforeAll(async () => {
    work = await tempDir();
    await makePackedModel(path.join(work, 'm'));
    summary = await readModelSummary(path.join(work, 'm'));
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('reads the packed metadata: layers, source, files, parameters', () => {
    expect(summary.format).toBe('abq');
    expect(summary.formatVersion).toBe('1');
    expect(summary.source).toEqual({ model: 'karpathy/tinyllamas', revision: '', dtype: 'F32' });
    expect(summary.layers.map((l) => [l.name, l.wbits, l.abits])).toEqual([['model.layers.0.mlp.down_proj', 4, 8]]);
    expect(summary.files.map((f) => f.path)).toEqual(['config.json', 'extra/notes.txt', 'model.safetensors']);
    expect(summary.parameterCount).toBe(2048 + 64 * 16);
    expect(quantLabel(summary)).toBe('W4A8');
    expect(quantLabel({ ...summary, layers: [...summary.layers, { ...summary.layers[0], wbits: 2, abits: 16 }] })).toBe('W2-4A8-16');
  });

  it('writes front matter the Hub indexes, and a body with config, perplexity, size and usage', () => {
    const card = buildModelCard({ repo: 'alice/tiny-w4a8', summary, license: 'mit', evals: [{ metric: 'perplexity', dataset: 'tinystories (validation)', value: 9.5, baseline: 9.0 }] });
    const front = /^---\n([\s\S]*?)\n---\n/.exec(card)![1];
    expect(front).toContain('base_model: karpathy/tinyllamas\nbase_model_relation: quantized\nlicense: mit\nlibrary_name: abq-serve\n');
    expect(front).toMatch(/tags:\n  - quantized\n  - abq\n  - w4a8\n/);
    expect(front).toMatch(/metrics:\n\s+- type: perplexity\n\s+value: 9.5\n/);
    expect(card).toMatch(/\| weight bits \| 4 \|/);
    expect(card).toMatch(/\| activations \| 8-bit, dynamic per token \|/);
    expect(card).toMatch(/\| tinystories \(validation\) \| perplexity \| 9\.5000 \| 9\.0000 \| 5\.56% \|/);
    expect(card).toMatch(/\| weights \(safetensors\) \| \d+(\.\d+)? KB \|/);
    expect(card).toContain('DIR=$(npx abq-pack pull alice/tiny-w4a8)');
    expect(card).toContain('ABQ_MODEL_DIRS=tiny-w4a8="$DIR" npm start');
  });

  it('describes per-token activations the same whether actGroupSize is 0 or K', () => {
    const layers = [summary.layers[0], { ...summary.layers[0], name: 'x', actGroupSize: summary.layers[0].inFeatures }];
    expect(buildModelCard({ repo: 'a/b', summary: { ...summary, layers } })).toMatch(/\| activations \| 8-bit, dynamic per token \|/);
  });

  it('leaves out base_model when the source is a local folder, and says when nothing was measured', () => {
    const card = buildModelCard({ repo: 'a/b', summary: { ...summary, source: { model: '../shared/models/stories260K' } } });
    expect(card).not.toContain('base_model');
    expect(card).not.toContain('license:');
    expect(card).toContain('No evaluation was recorded');
  });

  it('merges the quantizer\'s README into the card, keeps a finished Hub card, and obeys keep/generate', async () => {
    const dir = path.join(work, 'with-card');
    await makePackedModel(dir);
    const report = '---\nlicense: "apache-2.0"\ntags: [abq, quantized, arbitrary-bit]\n---\n# stories260K (W4A8, rtn)\n\n## Measured perplexity\n\n| text | fp | q |\n';
    await writeFile(path.join(dir, 'README.md'), report);
    const merged = await prepareModelCard({ dir, repo: 'a/b' });
    expect(merged).toMatchObject({ kind: 'generated', license: 'apache-2.0' });
    expect(merged.text).toMatch(/tags:\n(  - .*\n)*  - arbitrary-bit\n/);
    expect(merged.text).toMatch(/## Quantization report\n\n### Measured perplexity\n\n\| text \| fp \| q \|/);
    expect(merged.text).not.toContain('# stories260K (W4A8, rtn)');
    expect((await prepareModelCard({ dir, repo: 'a/b', card: 'keep' })).text).toBe(report);
    const fresh = await prepareModelCard({ dir, repo: 'a/b', card: 'generate' });
    expect(fresh.text).not.toContain('Quantization report');
    expect(frontMatterField(fresh.text, 'license')).toBe('apache-2.0');
    const hubCard = '---\nlicense: mit\nlibrary_name: abq-serve\n---\n# mine\n';
    await writeFile(path.join(dir, 'README.md'), hubCard);
    expect(await prepareModelCard({ dir, repo: 'a/b' })).toMatchObject({ kind: 'kept', text: hubCard, license: 'mit' });
  });

  it('lists symlinked files as files, and skips temp and partial files', async () => {
    const dir = path.join(work, 'linked');
    await makePackedModel(dir);
    await writeFile(path.join(work, 'tokenizer.json'), '{}');
    await symlink(path.join(work, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    await writeFile(path.join(dir, 'model.safetensors.tmp-123'), 'x');
    await writeFile(path.join(dir, 'big.bin.part'), 'x');
    const files = (await readModelSummary(dir)).files.map((f) => f.path);
    expect(files).toEqual(['config.json', 'extra/notes.txt', 'model.safetensors', 'tokenizer.json']);
  });

  it('refuses a folder that is not a packed model', async () => {
    const dir = path.join(work, 'plain');
    await makePackedModel(dir);
    await rm(path.join(dir, 'config.json'));
    await expect(prepareModelCard({ dir, repo: 'a/b' })).rejects.toThrow(/not a packed model folder.*abq-pack quantize/);
    await expect(prepareModelCard({ dir: path.join(work, 'nowhere'), repo: 'a/b' })).rejects.toThrow(/nowhere is not a folder/);
  });
});

describe('toYaml', () => {
  it('quotes what YAML would misread, and nests lists of maps', () => {
    expect(toYaml({ a: 'yes', b: '1.0', c: 'x: y', d: 'plain-id', e: 3, f: [{ g: 'h', i: ['j'] }], k: [] })).toBe(
      'a: "yes"\nb: "1.0"\nc: "x: y"\nd: plain-id\ne: 3\nf:\n  - g: h\n    i:\n      - j\nk: []\n',
    );
  });
});

describe('frontMatterList', () => {
  it('reads inline and block lists', () => {
    expect(frontMatterList('---\ntags: [a, "b c"]\n---\n', 'tags')).toEqual(['a', 'b c']);
    expect(frontMatterList('---\ntags:\n  - x\n  - y\nlicense: mit\n---\n', 'tags')).toEqual(['x', 'y']);
    expect(frontMatterList('# no front matter', 'tags')).toEqual([]);
  });
});

describe('readEvalResults', () => {
  it('accepts the documented shapes', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'e.json');
    await writeFile(file, JSON.stringify({ perplexity: 9.1, dataset: 'wikitext-2 (test)', baselinePerplexity: 8.9, ctx: 512 }));
    expect(await readEvalResults(file)).toEqual([{ metric: 'perplexity', dataset: 'wikitext-2 (test)', value: 9.1, baseline: 8.9, contextLength: 512, tokens: undefined }]);
    await writeFile(file, JSON.stringify({ results: [{ metric: 'perplexity', dataset: 'd', value: 2 }] }));
    expect((await readEvalResults(file))[0].value).toBe(2);
    await writeFile(file, JSON.stringify({ protocol: 'stream', seqlen: 256, tokens: 5000, ppl: 3.5, dataset: 'tinystories', baseline: { ppl: 3.4 } }));
    expect(await readEvalResults(file)).toEqual([{ metric: 'perplexity', dataset: 'tinystories', value: 3.5, baseline: 3.4, contextLength: 256, tokens: 5000 }]);
    await writeFile(file, JSON.stringify({ model: 'out/m', data: '../shared/datasets/tinystories/TinyStories-validation-first1000.txt', protocol: 'stream', seqlen: 512, tokens: 9000, loss: 1.3, ppl: 3.67 }));
    expect(await readEvalResults(file)).toEqual([{ metric: 'perplexity', dataset: 'TinyStories-validation-first1000.txt (stream)', value: 3.67, baseline: undefined, contextLength: 512, tokens: 9000 }]);
    await writeFile(file, JSON.stringify([{ accuracy: 1 }]));
    await expect(readEvalResults(file)).rejects.toThrow(/needs a numeric "perplexity"/);
    await rm(dir, { recursive: true, force: true });
  });
});

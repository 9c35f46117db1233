/**
 * CPU half of the CUDA engine checks (run here, no GPU): for each packed stories260K folder, the
 * greedy tokens of the reference integer path and of the WASM engine (128 steps from a few prompts),
 * reference tokens under seeded top-k/top-p sampling with the uniforms recorded, and the reference
 * integer path's perplexity on a few thousand TinyStories tokens. engine-check.ts (on the GPU
 * machine) compares the CUDA engine against this file.
 *
 *   tsx scripts/gpu/engine-expect.ts --out .device/engine-expect.json <packed dir>...
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadPackedLlama } from '../../shared/quant/load-packed.ts';
import { argmax, sampleWithUniform } from '../../shared/model/sampling.ts';
import { Rng } from '../../shared/util/rng.ts';
import { evaluatePerplexity, prepareEval } from '../../shared/eval/index.ts';
import { loadTokenizer } from '../../shared/tokenizer/load-tokenizer.ts';
import { createWasmEngineFromDir } from '../../wasm/src/node.ts';

export const GREEDY_STEPS = 128;
export const SAMPLED_STEPS = 64;
export const EVAL_SEQLEN = 256;
export const EVAL_TOKENS = 4096;
export const SAMPLING = { temperature: 0.8, topK: 40, topP: 0.9 };
export const SAMPLING_SEED = 7;

export interface EngineExpectation {
  dir: string;
  name: string;
  prompts: number[][];
  refGreedy: number[][];
  wasmGreedy: number[][];
  sampled: { prompt: number[]; uniforms: number[]; tokens: number[] };
  windows: number[][];
  refPpl: number;
  refLoss: number;
}

async function expectFor(dir: string, text: string, tokenizerDir: string): Promise<EngineExpectation> {
  const { model } = await loadPackedLlama(dir, 'integer');
  const tok = await loadTokenizer(tokenizerDir);
  const plan = prepareEval(text, tok, { protocol: 'stream', seqlen: EVAL_SEQLEN, maxTokens: EVAL_TOKENS });
  const stream = plan.windows.map((w) => Array.from(w));
  const prompts = [[stream[0][0]], stream[1].slice(0, 8), stream[2].slice(0, 24)];
  const refGreedy = prompts.map((p) => {
    const cache = model.newCache();
    let logits = model.forward(p, cache);
    const out: number[] = [];
    for (let i = 0; i < GREEDY_STEPS; i++) {
      const t = argmax(logits);
      out.push(t);
      if (i + 1 < GREEDY_STEPS) logits = model.forward([t], cache);
    }
    return out;
  });
  const wasm = await createWasmEngineFromDir(dir);
  const wasmGreedy: number[][] = [];
  for (const p of prompts) {
    const out: number[] = [];
    for await (const g of wasm.generate(p, { temperature: 0 }, { maxTokens: GREEDY_STEPS, stop: [] })) out.push(g.token);
    wasmGreedy.push(out);
  }
  await wasm.close();
  const rng = new Rng(SAMPLING_SEED);
  const sp = prompts[1];
  const cache = model.newCache();
  let logits = model.forward(sp, cache);
  const uniforms: number[] = [], tokens: number[] = [];
  for (let i = 0; i < SAMPLED_STEPS; i++) {
    const u = rng.next();
    const t = sampleWithUniform(logits, SAMPLING, u);
    uniforms.push(u); tokens.push(t);
    if (i + 1 < SAMPLED_STEPS) logits = model.forward([t], cache);
  }
  const ppl = await evaluatePerplexity(model, plan);
  return { dir, name: path.basename(dir), prompts, refGreedy, wasmGreedy, sampled: { prompt: sp, uniforms, tokens }, windows: stream, refPpl: ppl.ppl, refLoss: ppl.loss };
}

async function main(argv: string[]): Promise<void> {
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? argv[outAt + 1] : '.device/engine-expect.json';
  const textAt = argv.indexOf('--text');
  const tokAt = argv.indexOf('--tokenizer');
  if (textAt < 0 || tokAt < 0) throw new Error('pass --text <TinyStories file> --tokenizer <stories260K folder>');
  const skip = new Set([outAt, outAt + 1, textAt, textAt + 1, tokAt, tokAt + 1]);
  const dirs = argv.filter((_, i) => !skip.has(i));
  const text = await readFile(argv[textAt + 1], 'utf8');
  const all: EngineExpectation[] = [];
  for (const dir of dirs) {
    const e = await expectFor(dir, text, argv[tokAt + 1]);
    const same = e.refGreedy.every((r, i) => r.every((t, j) => t === e.wasmGreedy[i][j]));
    console.log(`${e.name}: reference ppl ${e.refPpl.toFixed(4)}, wasm greedy ${same ? 'equals' : 'DIFFERS FROM'} the reference`);
    all.push(e);
  }
  await writeFile(out, JSON.stringify(all));
  console.log(`wrote ${out}`);
}

await main(process.argv.slice(2));

/**
 * Benchmark of the f32 reference forward (shared/model), the baseline the WASM engine must beat.
 * Measures prefill tokens/s (one forward over a prompt) and decode tokens/s (one token per forward
 * after a short prompt) on the real stories260K and on a synthetic stories15M-shape model, single
 * thread, median of several runs. As an in-run baseline the same model also runs with a naive
 * (unblocked triple-loop) matmul in every linear layer.
 *
 * Usage: npm run bench:reference [-- --runs 5]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadLlamaModel } from '../shared/model/load.ts';
import { LlamaModel, type LlamaWeights } from '../shared/model/llama.ts';
import type { Linear } from '../shared/model/linear.ts';
import { writeSyntheticModel } from '../shared/model/synth.ts';
import { SYNTH_SHAPES } from '../shared/model/synth-shapes.ts';
import { Rng } from '../shared/util/rng.ts';
import { machineLine, median, replaceBenchSection } from './lib/bench-doc.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED_DIR = process.env.ABQ_SHARED ?? path.resolve(REPO_ROOT, '..', 'shared');
const SYNTH_DIR = path.join(REPO_ROOT, '.cache', 'synth', 'stories15M-f32-seed0');
const PREFILL_TOKENS = 256;
const DECODE_PROMPT = 16;
const DECODE_STEPS = 64;
const DEFAULT_RUNS = 5;
/** The naive baseline is slow; fewer runs of it keep the benchmark short. */
const NAIVE_RUNS = 2;

/** The unblocked triple loop every row of the blocked kernel is compared with. */
class NaiveLinear implements Linear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  constructor(private readonly w: Float32Array, out: number, inF: number) {
    this.inFeatures = inF;
    this.outFeatures = out;
  }
  forward(x: Float32Array, m: number): Float32Array {
    const { inFeatures: k, outFeatures: n, w } = this;
    const y = new Float32Array(m * n);
    for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += x[r * k + i] * w[c * k + i];
      y[r * n + c] = s;
    }
    return y;
  }
}

function naiveWeights(w: LlamaWeights): LlamaWeights {
  const conv = (l: Linear): Linear => {
    const d = l as unknown as { weight: Float32Array; bias?: Float32Array };
    if (d.bias) throw new Error('naive baseline: biased linears are not needed for these models');
    return new NaiveLinear(d.weight, l.outFeatures, l.inFeatures);
  };
  return {
    embed: w.embed, norm: w.norm, lmHead: conv(w.lmHead),
    layers: w.layers.map((L) => ({ ...L, q: conv(L.q), k: conv(L.k), v: conv(L.v), o: conv(L.o), gate: conv(L.gate), up: conv(L.up), down: conv(L.down) })),
  };
}

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(3, vocab - 1));
}

interface Measure { prefillTps: number; decodeTps: number; decodeMsPerToken: number }

function measure(model: LlamaModel, runs: number): Measure {
  const vocab = model.config.vocabSize;
  const prefillN = Math.min(PREFILL_TOKENS, model.config.maxPositionEmbeddings);
  const prompt = randomTokens(prefillN, vocab, 1);
  const decodeTokens = randomTokens(DECODE_PROMPT + DECODE_STEPS, vocab, 2);
  // Warm-up: let the JIT settle on both paths.
  model.forward(prompt.slice(0, 8), model.newCache());
  model.forward(prompt.slice(0, 1), model.newCache());
  const prefill: number[] = [];
  const decode: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    model.forward(prompt, model.newCache(prefillN));
    prefill.push((performance.now() - t) / 1000);
    const cache = model.newCache();
    model.forward(decodeTokens.slice(0, DECODE_PROMPT), cache);
    t = performance.now();
    for (let i = DECODE_PROMPT; i < decodeTokens.length; i++) model.forward([decodeTokens[i]], cache);
    decode.push((performance.now() - t) / 1000);
  }
  const p = median(prefill);
  const d = median(decode);
  return { prefillTps: prefillN / p, decodeTps: DECODE_STEPS / d, decodeMsPerToken: (1000 * d) / DECODE_STEPS };
}

async function synthStories15M(): Promise<string> {
  const cfgFile = path.join(SYNTH_DIR, 'config.json');
  if (existsSync(cfgFile) && JSON.parse(readFileSync(cfgFile, 'utf8')).abq_synthetic === true) return SYNTH_DIR;
  console.error(`generating synthetic stories15M into ${path.relative(REPO_ROOT, SYNTH_DIR)} ...`);
  await writeSyntheticModel(SYNTH_DIR, SYNTH_SHAPES.stories15M, { dtype: 'f32', seed: 0, shapeName: 'stories15M', force: true });
  return SYNTH_DIR;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: String(DEFAULT_RUNS) } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const targets: { label: string; dir: string }[] = [];
  const real = path.join(SHARED_DIR, 'models', 'stories260K');
  if (existsSync(path.join(real, 'config.json'))) targets.push({ label: 'stories260K (real)', dir: real });
  else console.error(`stories260K not found under ${SHARED_DIR}/models (set ABQ_SHARED); skipping it`);
  targets.push({ label: 'stories15M shape (**synthetic**)', dir: await synthStories15M() });

  const rows: string[] = [];
  for (const { label, dir } of targets) {
    const { model, config, weights } = await loadLlamaModel(dir);
    const params = weights.embed.length + countLinearParams(weights);
    const blocked = measure(model, runs);
    const naive = measure(new LlamaModel(config, naiveWeights(weights)), Math.min(runs, NAIVE_RUNS));
    const prefillN = Math.min(PREFILL_TOKENS, config.maxPositionEmbeddings);
    const row = [
      label, `${(params / 1e6).toFixed(2)}M`, `${prefillN}`,
      blocked.prefillTps.toFixed(1), naive.prefillTps.toFixed(1), `${(blocked.prefillTps / naive.prefillTps).toFixed(2)}x`,
      blocked.decodeTps.toFixed(1), blocked.decodeMsPerToken.toFixed(2), naive.decodeTps.toFixed(1), `${(blocked.decodeTps / naive.decodeTps).toFixed(2)}x`,
    ];
    rows.push(`| ${row.join(' | ')} |`);
    console.log(rows[rows.length - 1]);
  }
  const header = [
    '| model | params | prompt | prefill tok/s | naive prefill tok/s | speed-up | decode tok/s | decode ms/token | naive decode tok/s | speed-up |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const md = [
    '## Reference forward (f32, TypeScript, 1 thread)',
    '',
    `Command: \`npm run bench:reference\` (runs: ${runs}, median). Machine: ${machineLine()}.`,
    '',
    `Prefill: one forward over a prompt of random tokens on a fresh cache. Decode: ${DECODE_STEPS} single-token forwards after a ${DECODE_PROMPT}-token prompt.`,
    'The "naive" columns run the same model with an unblocked triple-loop matmul in every linear layer (the baseline in the same run;',
    `${NAIVE_RUNS} runs at most). This reference engine is itself the baseline the WASM engine must beat.`,
    '',
    ...header,
    ...rows,
  ].join('\n');
  console.log(['', ...header, ...rows].join('\n'));
  replaceBenchSection('reference-forward', md);
}

function countLinearParams(w: LlamaWeights): number {
  let n = w.norm.length;
  for (const L of w.layers) {
    n += L.inputNorm.length + L.postNorm.length;
    for (const l of [L.q, L.k, L.v, L.o, L.gate, L.up, L.down]) n += l.inFeatures * l.outFeatures;
  }
  // lm_head shares the embedding when tied.
  const head = w.lmHead as unknown as { weight?: Float32Array };
  if (head.weight !== w.embed) n += w.lmHead.inFeatures * w.lmHead.outFeatures;
  return n;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

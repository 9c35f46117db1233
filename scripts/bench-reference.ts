/**
 * Benchmark of the f32 reference forward (shared/model), the baseline the WASM engine must beat.
 * Measures prefill tokens/s (one forward over a prompt) and decode tokens/s (one token per forward
 * after a short prompt) on the real stories260K and on synthetic stories15M- and stories110M-shape
 * models, single thread, median of several runs. As an in-run baseline the same model also runs
 * with a naive (unblocked triple-loop) matmul in every linear layer.
 *
 * Usage: npm run bench:reference [-- --runs 5 --skip-110m]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadLlamaModel } from '../shared/model/load.ts';
import { LlamaModel, type LlamaWeights } from '../shared/model/llama.ts';
import { DenseLinear, type Linear } from '../shared/model/linear.ts';
import { writeSyntheticModel } from '../shared/model/synth.ts';
import { SYNTH_SHAPES } from '../shared/model/synth-shapes.ts';
import { Rng } from '../shared/util/rng.ts';
import { machineLine, median, replaceBenchSection } from './lib/bench-doc.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHARED_DIR = process.env.ABQ_SHARED ?? path.resolve(REPO_ROOT, '..', 'shared');
const SYNTH_ROOT = path.join(REPO_ROOT, '.cache', 'synth');
const PREFILL_TOKENS = 256;
/** stories110M (the WASM engine's target shape) is ~7x slower: a shorter prompt and fewer runs keep it to about a minute. */
const LARGE_PREFILL_TOKENS = 64;
const LARGE_RUNS = 3;
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
    if (!(l instanceof DenseLinear) || l.bias) throw new Error('naive baseline: expected unbiased DenseLinear layers (as in LLaMA checkpoints)');
    return new NaiveLinear(l.weight, l.outFeatures, l.inFeatures);
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

interface Measure { prefillTps: number; prefillCpuTps: number; decodeTps: number; decodeCpuTps: number; decodeMsPerToken: number }

/** Runs fn, returning [wall seconds, CPU seconds of this process]. CPU time is steadier on a shared machine. */
function timed(fn: () => void): [number, number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return [(performance.now() - t0) / 1000, (c.user + c.system) / 1e6];
}

function measure(model: LlamaModel, runs: number, prefillTokens: number): Measure {
  const vocab = model.config.vocabSize;
  const prefillN = Math.min(prefillTokens, model.config.maxPositionEmbeddings);
  const prompt = randomTokens(prefillN, vocab, 1);
  const decodeTokens = randomTokens(DECODE_PROMPT + DECODE_STEPS, vocab, 2);
  // Warm-up: let the JIT settle on both paths.
  model.forward(prompt.slice(0, 8), model.newCache());
  model.forward(prompt.slice(0, 1), model.newCache());
  const prefill: [number, number][] = [];
  const decode: [number, number][] = [];
  for (let r = 0; r < runs; r++) {
    prefill.push(timed(() => model.forward(prompt, model.newCache(prefillN))));
    const cache = model.newCache();
    model.forward(decodeTokens.slice(0, DECODE_PROMPT), cache);
    decode.push(timed(() => {
      for (let i = DECODE_PROMPT; i < decodeTokens.length; i++) model.forward([decodeTokens[i]], cache);
    }));
  }
  const p = median(prefill.map((t) => t[0]));
  const d = median(decode.map((t) => t[0]));
  return {
    prefillTps: prefillN / p,
    prefillCpuTps: prefillN / median(prefill.map((t) => t[1])),
    decodeTps: DECODE_STEPS / d,
    decodeCpuTps: DECODE_STEPS / median(decode.map((t) => t[1])),
    decodeMsPerToken: (1000 * d) / DECODE_STEPS,
  };
}

/** A synthetic model of a named shape in the ignored .cache/synth, generated once. */
async function synthModel(shape: 'stories15M' | 'stories110M', dtype: 'f16' | 'f32'): Promise<string> {
  const dir = path.join(SYNTH_ROOT, `${shape}-${dtype}-seed0`);
  const cfgFile = path.join(dir, 'config.json');
  if (existsSync(cfgFile) && JSON.parse(readFileSync(cfgFile, 'utf8')).abq_synthetic === true) return dir;
  console.error(`generating synthetic ${shape} into ${path.relative(REPO_ROOT, dir)} ...`);
  await writeSyntheticModel(dir, SYNTH_SHAPES[shape], { dtype, seed: 0, shapeName: shape, force: true });
  return dir;
}

interface Target { label: string; dir: string; prefillTokens: number; runs: number; naive: boolean }

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: String(DEFAULT_RUNS) }, 'skip-110m': { type: 'boolean', default: false } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const targets: Target[] = [];
  const real = path.join(SHARED_DIR, 'models', 'stories260K');
  if (existsSync(path.join(real, 'config.json'))) targets.push({ label: 'stories260K (real)', dir: real, prefillTokens: PREFILL_TOKENS, runs, naive: true });
  else console.error(`stories260K not found under ${SHARED_DIR}/models (set ABQ_SHARED); skipping it`);
  targets.push({ label: 'stories15M shape (**synthetic**)', dir: await synthModel('stories15M', 'f32'), prefillTokens: PREFILL_TOKENS, runs, naive: true });
  if (!values['skip-110m']) {
    const dir = await synthModel('stories110M', 'f16');
    targets.push({ label: 'stories110M shape (**synthetic**)', dir, prefillTokens: LARGE_PREFILL_TOKENS, runs: Math.min(runs, LARGE_RUNS), naive: false });
  }

  const rows: string[] = [];
  for (const t of targets) {
    const { model, config, weights } = await loadLlamaModel(t.dir);
    const params = weights.embed.length + countLinearParams(weights);
    const fast = measure(model, t.runs, t.prefillTokens);
    const naive = t.naive ? measure(new LlamaModel(config, naiveWeights(weights)), Math.min(t.runs, NAIVE_RUNS), t.prefillTokens) : undefined;
    const speedUp = (a: number, b?: number) => (b ? `${(a / b).toFixed(2)}x` : '-');
    const row = [
      t.label, `${(params / 1e6).toFixed(2)}M`, `${Math.min(t.prefillTokens, config.maxPositionEmbeddings)}`,
      fast.prefillTps.toFixed(1), fast.prefillCpuTps.toFixed(1), naive?.prefillCpuTps.toFixed(1) ?? '-', speedUp(fast.prefillCpuTps, naive?.prefillCpuTps),
      fast.decodeTps.toFixed(1), fast.decodeCpuTps.toFixed(1), fast.decodeMsPerToken.toFixed(2), naive?.decodeCpuTps.toFixed(1) ?? '-', speedUp(fast.decodeCpuTps, naive?.decodeCpuTps),
    ];
    rows.push(`| ${row.join(' | ')} |`);
    console.log(rows[rows.length - 1]);
  }
  const header = [
    '| model | params | prompt | prefill tok/s | prefill tok/s (CPU) | naive prefill (CPU) | speed-up | decode tok/s | decode tok/s (CPU) | decode ms/token | naive decode (CPU) | speed-up |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const md = [
    '## Reference forward (f32, TypeScript, 1 thread)',
    '',
    `Command: \`npm run bench:reference\` (median of ${runs} runs; stories110M: ${Math.min(runs, LARGE_RUNS)}). Machine: ${machineLine()}.`,
    '',
    `Prefill: one forward over a prompt of random tokens on a fresh cache. Decode: ${DECODE_STEPS} single-token forwards after a ${DECODE_PROMPT}-token prompt.`,
    'tok/s is wall-clock; "(CPU)" divides by the process CPU time instead, which is steadier when other work shares the machine.',
    'The "naive" columns run the same model with an unblocked triple-loop matmul in every linear layer (the baseline in the same run,',
    `${NAIVE_RUNS} runs at most, skipped for stories110M); speed-ups compare CPU-time figures.`,
    'This engine is the baseline the WASM engine must beat (DESIGN.md: decode >= 3x at W4A8 on the 110M shape).',
    'Synthetic models hold random weights of the real shape (`abq-pack synth`), generated into `.cache/synth/`.',
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
  if (!(w.lmHead instanceof DenseLinear && w.lmHead.weight === w.embed)) n += w.lmHead.inFeatures * w.lmHead.outFeatures;
  return n;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

/**
 * GPU half of the CUDA engine checks (bundled to .device/engine-check.mjs; run on the GPU machine):
 * for each packed stories260K folder in the expectation file written by engine-expect.ts,
 *   - greedy tokens for 128 steps vs the reference integer path and the WASM engine, per prompt;
 *   - batched decode (all prompts in one step) vs unbatched;
 *   - seeded top-k/top-p sampling with the recorded uniforms vs the reference;
 *   - perplexity through the engine's logits vs the reference integer path (within 0.1%);
 * and once, a paged-KV stress through the scheduler: more sequences than KV blocks (queue/preempt).
 * Prints `FAIL ...` lines and a summary; exits 1 on any failure.
 *
 *   node .device/engine-check.mjs .device/engine-expect.json [--quick]
 * --quick (for compute-sanitizer): the first model, f32 KV only, 16 steps, 2 perplexity windows.
 */
import { readFile } from 'node:fs/promises';
import { CudaBatchEngine } from '../../gpu-node/src/cuda-engine.ts';
import { createScheduledBackend } from '../../gpu-node/engine/scheduler.ts';
import { createCudaBackend } from '../../gpu-node/src/engine.ts';
import type { SeqStep, StepSampling } from '../../gpu-node/engine/batch-engine.ts';
import { tokenNll } from '../../shared/eval/token-nll.ts';
import type { EngineExpectation } from './engine-expect.ts';

const BLOCK = 16;
const PPL_TOLERANCE = 0.001;
const GREEDY: StepSampling = { temperature: 0, topK: 0, topP: 1, uniform: 0, logprob: true };

let failures = 0;
let quickRun = false;
function fail(msg: string): void {
  failures++;
  console.log(`FAIL ${msg}`);
}

function firstDiff(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

function table(first: number, count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => first + i);
}

/** Runs prompts as one batch (or one by one) for `steps` tokens; sequence i uses blocks [i * span, ...). */
async function generate(engine: CudaBatchEngine, prompts: number[][], steps: number, span: number, sampling: (seq: number, step: number) => StepSampling): Promise<number[][]> {
  const out = prompts.map(() => [] as number[]);
  const pos = prompts.map(() => 0);
  let batch: SeqStep[] = prompts.map((p, i) => ({ seqId: i, tokens: Int32Array.from(p), position: 0, blockTable: table(i * span, Math.ceil(p.length / BLOCK)), sample: sampling(i, 0) }));
  for (let s = 0; s < steps; s++) {
    const res = await engine.step(batch);
    res.forEach((r) => out[r.seqId].push(r.token));
    batch = batch.map((b) => {
      pos[b.seqId] = b.position + b.tokens.length;
      const p = pos[b.seqId];
      return { seqId: b.seqId, tokens: Int32Array.of(out[b.seqId][s]), position: p, blockTable: table(b.seqId * span, Math.ceil((p + 1) / BLOCK)), sample: sampling(b.seqId, s + 1) };
    });
  }
  return out;
}

/**
 * exact: f32 KV cache (attention in f64): tokens must equal the reference's. Default (fp16 KV cache):
 * tokens may part from the reference where an fp16-rounded key/value flips an activation code near a
 * rounding boundary; the step where they part is reported, perplexity must still be within 0.1%.
 */
async function checkModel(e: EngineExpectation, exact: boolean): Promise<string> {
  const mode = exact ? 'f32 KV' : 'fp16 KV';
  const engine = await CudaBatchEngine.load(e.dir, { modelId: e.name, maxSeqs: 8, maxBatchTokens: 512, numBlocks: 256, blockSize: BLOCK, kvF32: exact });
  const span = 16;  // blocks per sequence: 256 positions
  const steps = e.refGreedy[0].length;
  const summary: string[] = [];
  try {
    // Unbatched greedy vs reference and WASM.
    const single: number[][] = [];
    for (let i = 0; i < e.prompts.length; i++) {
      const [toks] = await generate(engine, [e.prompts[i]], steps, span, () => GREEDY);
      single.push(toks);
      const dRef = firstDiff(toks, e.refGreedy[i]), dWasm = firstDiff(toks, e.wasmGreedy[i]);
      if (exact && dRef >= 0) fail(`${e.name} (${mode}) prompt ${i}: greedy tokens differ from the reference at step ${dRef} (cuda ${toks.slice(dRef, dRef + 4)} vs ref ${e.refGreedy[i].slice(dRef, dRef + 4)})`);
      if (exact && dWasm >= 0) fail(`${e.name} (${mode}) prompt ${i}: greedy tokens differ from the WASM engine at step ${dWasm}`);
    }
    const parts = single.map((t, i) => firstDiff(t, e.refGreedy[i]));
    summary.push(`greedy ${e.prompts.length}x${steps} ${parts.every((d) => d < 0) ? 'same as ref and wasm' : `part from ref at steps ${parts.map((d) => (d < 0 ? '-' : d)).join(',')}`}`);
    // Batched vs unbatched.
    const batched = await generate(engine, e.prompts, steps, span, () => GREEDY);
    const bd = batched.map((t, i) => firstDiff(t, single[i]));
    if (bd.some((d) => d >= 0)) fail(`${e.name} (${mode}): batched decode differs from unbatched at steps ${bd}`);
    summary.push(`batched ${bd.every((d) => d < 0) ? 'same' : 'DIFFER'}`);
    // Seeded sampling with the reference's uniforms.
    const sp = e.sampled;
    const [sampled] = await generate(engine, [sp.prompt], sp.tokens.length, span, (_, s) => ({ temperature: 0.8, topK: 40, topP: 0.9, uniform: sp.uniforms[s], logprob: false }));
    const ds = firstDiff(sampled, sp.tokens);
    if (exact && ds >= 0) fail(`${e.name} (${mode}): sampled tokens differ from the reference at step ${ds}`);
    summary.push(`sampled ${ds < 0 ? 'same' : `differ@${ds}`}`);
    // Perplexity through the engine's logits.
    let nll = 0, targets = 0;
    for (const w of e.windows) {
      const inputs = Int32Array.from(w.slice(0, -1));
      const logits = await engine.logits(inputs, 0, table(0, Math.ceil(inputs.length / BLOCK)));
      const vocab = logits.length / inputs.length;
      for (let t = 0; t < inputs.length; t++) nll += tokenNll(logits, t * vocab, vocab, w[t + 1]);
      targets += inputs.length;
    }
    const ppl = Math.exp(nll / targets);
    const rel = Math.abs(ppl / e.refPpl - 1);
    // fp16 KV on a head_dim-8 model is informational (the engine uses f32 KV there by default); quick
    // runs score only a few windows, so their perplexity is not comparable with the full reference.
    if (exact && !quickRun && !(rel <= PPL_TOLERANCE)) fail(`${e.name} (${mode}): perplexity ${ppl.toFixed(5)} vs reference ${e.refPpl.toFixed(5)} (${(rel * 100).toFixed(4)}% > 0.1%)`);
    summary.push(`ppl ${ppl.toFixed(4)} vs ref ${e.refPpl.toFixed(4)} (${(rel * 100).toFixed(4)}%, ${targets} tokens${exact ? '' : ', informational'})`);
    summary.push(`graphed steps ${engine.graphedSteps}`);
    const info = engine.nativeInfo();
    if (exact) summary.push(info.description);
  } finally {
    await engine.close();
  }
  return `${e.name} [${mode}]: ${summary.join('; ')}`;
}

/** More sequences than KV blocks: the scheduler must queue or preempt; every request completes. */
async function stress(e: EngineExpectation): Promise<string> {
  const engine = await CudaBatchEngine.load(e.dir, { modelId: e.name, maxSeqs: 8, maxBatchTokens: 256, numBlocks: 12, blockSize: BLOCK, kvF32: true });
  const backend = createScheduledBackend(engine, { id: 'stress', modelIds: [e.name] });
  const reqs = 8, maxTokens = 90;
  try {
    const runs = Array.from({ length: reqs }, async (_, i) => {
      const out: number[] = [];
      for await (const g of backend.generate({ model: e.name, tokens: e.prompts[i % e.prompts.length], sampling: { temperature: 0, topK: 0, topP: 1 }, maxTokens })) out.push(g.token);
      return out;
    });
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      if (r.length !== maxTokens) fail(`stress: request ${i} produced ${r.length} tokens, expected ${maxTokens}`);
      const d = firstDiff(r, e.refGreedy[i % e.prompts.length].slice(0, maxTokens));
      if (d >= 0) fail(`stress: request ${i} differs from the reference greedy tokens at step ${d}`);
    });
    const st = backend.stats();
    await backend.drain();
    await backend.close();
    return `stress: ${reqs} requests x ${maxTokens} tokens over 12 blocks of ${BLOCK}: done, ${st.preemptions} preemptions`;
  } finally {
    await engine.close();
  }
}

/** The `--backend cuda` entry (createCudaBackend, default options): greedy tokens and log-probs through the scheduler. */
async function serverBackend(e: EngineExpectation): Promise<string> {
  const backend = await createCudaBackend(e.dir, e.name);
  try {
    const out: number[] = [];
    let lpOk = true;
    const steps = e.refGreedy[1].length;
    for await (const g of backend.generate({ model: e.name, tokens: e.prompts[1], sampling: { temperature: 0, topK: 0, topP: 1 }, maxTokens: steps, logprobs: true })) {
      out.push(g.token);
      if (!(typeof g.logprob === 'number' && g.logprob <= 0 && Number.isFinite(g.logprob))) lpOk = false;
    }
    const d = firstDiff(out, e.refGreedy[1]);
    if (d >= 0) fail(`createCudaBackend: greedy tokens differ from the reference at step ${d}`);
    if (!lpOk) fail('createCudaBackend: a log-probability was missing or not a finite number <= 0');
    return `createCudaBackend (--backend cuda, defaults): ${out.length} greedy tokens ${d < 0 ? 'same as ref' : 'DIFFER'}, logprobs ${lpOk ? 'ok' : 'BAD'}; ${JSON.stringify(backend.stats())}`;
  } finally {
    await backend.drain();
    await backend.close();
  }
}

const QUICK_STEPS = 16;
const QUICK_WINDOWS = 2;

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  quickRun = quick;
  const file = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '.device/engine-expect.json';
  let all = JSON.parse(await readFile(file, 'utf8')) as EngineExpectation[];
  if (quick) {
    all = all.slice(0, 1).map((e) => ({
      ...e,
      refGreedy: e.refGreedy.map((t) => t.slice(0, QUICK_STEPS)), wasmGreedy: e.wasmGreedy.map((t) => t.slice(0, QUICK_STEPS)),
      sampled: { ...e.sampled, tokens: e.sampled.tokens.slice(0, QUICK_STEPS) }, windows: e.windows.slice(0, QUICK_WINDOWS),
    }));
  }
  for (const e of all) {
    for (const exact of quick ? [true] : [true, false]) {
      try {
        console.log(await checkModel(e, exact));
      } catch (err) {
        fail(`${e.name}: ${(err as Error).stack ?? err}`);
      }
    }
  }
  if (quick) {
    console.log(`engine-check (quick): ${all.length} model, ${failures} failures`);
    process.exitCode = failures ? 1 : 0;
    return;
  }
  try {
    console.log(await serverBackend(all[0]));
  } catch (err) {
    fail(`createCudaBackend: ${(err as Error).stack ?? err}`);
  }
  try {
    console.log(await stress(all[0]));
  } catch (err) {
    fail(`stress: ${(err as Error).stack ?? err}`);
  }
  console.log(`engine-check: ${all.length} models, ${failures} failures`);
  process.exitCode = failures ? 1 : 0;
}

await main();

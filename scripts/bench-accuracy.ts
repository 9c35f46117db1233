/**
 * npm run bench:accuracy: perplexity of stories260K at full precision and for every method at every
 * configuration (scripts/lib/accuracy-jobs.ts), with quantization time and packed size, then
 * docs/ACCURACY.md. Each job appends JSON lines to a results file, so a run can be split over
 * several invocations and machines (--only, --metrics) and the page rebuilt from what is there.
 *
 * Metrics per job:
 *   quant  quantize (calibrating on TinyStories stories 500..999), write the packed folder, and
 *          measure the simulated path on TinyStories stories 0..499 (stream protocol, 512 windows)
 *   int    the packed folder through the integer path (PackedLinearRef) and the simulated path, both on
 *          the first 100 stories (the integer reference is slow)
 *   wiki   the packed folder (simulated path) on WikiText-2 test (GPTQ protocol, 512 windows, capped)
 *
 *   npx tsx scripts/bench-accuracy.ts [--jobs 2] [--only id,id] [--metrics quant,int,wiki] [--write-doc-only]
 */
import { parseArgs } from 'node:util';
import { fork } from 'node:child_process';
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { accuracyJobs, type AccuracyJob } from './lib/accuracy-jobs.ts';
import { writeAccuracyDoc, type AccuracyRecord } from './lib/accuracy-doc.ts';
import { quantizeModel, settingsLabel, methodTraits } from '../shared/quant/index.ts';
import { writeQuantizedModel, packedSizeBytes } from '../shared/quant/write-packed.ts';
import { buildQuantizedLlama, layersForModel } from '../shared/quant/build-model.ts';
import { loadPackedLlama } from '../shared/quant/load-packed.ts';
import { evaluatePerplexity, prepareEval, type EvalPlan } from '../shared/eval/index.ts';
import { loadTokenizer } from '../shared/tokenizer/load-tokenizer.ts';
import { loadLlamaModel } from '../shared/model/load.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SHARED = process.env.ABQ_SHARED ?? path.resolve(REPO, '..', 'shared');
const MODEL = path.join(SHARED, 'models', 'stories260K');
const STORIES = path.join(SHARED, 'datasets', 'tinystories', 'TinyStories-validation-first1000.txt');
const WIKI = path.join(SHARED, 'datasets', 'wikitext-2-raw-v1', 'wiki.test.raw');
const EVAL_STORIES = 500;
/** The integer-path check (both paths of the packed folder) runs on the first 100 stories. */
const INT_STORIES = 100;
const CALIB_SKIP = 500;
const SEQLEN = 512;
const CALIB = { nsamples: 32, seqlen: 256, seed: 0 };
/** WikiText is capped: stories260K (512-token vocab) needs ~4 tokens per word there, so the full file is ~1.2M tokens. */
const WIKI_MAX_TOKENS = 32 * 1024;

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1' }, only: { type: 'string' }, metrics: { type: 'string', default: 'quant,int,wiki' },
    results: { type: 'string', default: path.join(REPO, '.bench', 'accuracy-results.jsonl') },
    models: { type: 'string', default: path.join(REPO, '.bench', 'accuracy-models') },
    job: { type: 'string' }, 'write-doc-only': { type: 'boolean' }, 'no-doc': { type: 'boolean' }, partial: { type: 'boolean' },
    nsamples: { type: 'string' }, 'epochs-scale': { type: 'string', default: '1' }, machine: { type: 'string' }, note: { type: 'string', multiple: true },
  },
});

async function readRecords(file: string): Promise<AccuracyRecord[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as AccuracyRecord);
}

async function record(r: AccuracyRecord): Promise<void> {
  await mkdir(path.dirname(args.results!), { recursive: true });
  await appendFile(args.results!, JSON.stringify(r) + '\n');
}

/** Evaluation plans, built on first use (tokenizing WikiText with a 512-token vocabulary takes a while). */
function evalPlans() {
  const tok = loadTokenizer(MODEL);
  const cache = new Map<string, Promise<EvalPlan>>();
  const plan = (key: string, file: string, o: Parameters<typeof prepareEval>[2]) => {
    if (!cache.has(key)) cache.set(key, (async () => prepareEval(await readFile(file, 'utf8'), await tok, o))());
    return cache.get(key)!;
  };
  return {
    stories: () => plan('stories', STORIES, { protocol: 'stream', seqlen: SEQLEN, stories: EVAL_STORIES }),
    intStories: () => plan('int', STORIES, { protocol: 'stream', seqlen: SEQLEN, stories: INT_STORIES }),
    wiki: () => plan('wiki', WIKI, { protocol: 'wikitext', seqlen: SEQLEN, maxTokens: WIKI_MAX_TOKENS }),
  };
}

async function runJob(job: AccuracyJob, metrics: Set<string>): Promise<void> {
  const plans = evalPlans();
  const dir = path.join(args.models!, job.id);
  if (job.method === 'fp') {
    const { model } = await loadLlamaModel(MODEL);
    if (metrics.has('quant')) await record({ job: job.id, metric: 'quant', ppl: (await evaluatePerplexity(model, await plans.stories())).ppl, seconds: 0, bytes: 0 });
    if (metrics.has('wiki')) await record({ job: job.id, metric: 'wiki', ppl: (await evaluatePerplexity(model, await plans.wiki())).ppl });
    return;
  }
  const c = job.config!;
  if (metrics.has('quant')) {
    const nsamples = args.nsamples ? Number(args.nsamples) : CALIB.nsamples;
    const epochs = Math.round(c.epochs * Number(args['epochs-scale']));
    // Per-block checkpoints let a job cut off by a time limit resume where it stopped.
    const checkpointDir = `${dir}.calib`;
    const qm = await quantizeModel({ model: MODEL, method: job.method, settings: c.settings, epochs, calib: { file: STORIES, ...CALIB, nsamples, skip: CALIB_SKIP }, checkpointDir, resume: true });
    const layers = layersForModel(qm.layers);
    const sim = await evaluatePerplexity(buildQuantizedLlama(qm.source.config, layers, (n) => qm.floats.get(n), 'simulated'), await plans.stories());
    await rm(dir, { recursive: true, force: true });
    await writeQuantizedModel(dir, qm, { perplexity: { [`TinyStories first ${EVAL_STORIES} (stream, ${SEQLEN})`]: { quant: sim.ppl, path: 'simulated' } }, calibration: `${nsamples} x ${CALIB.seqlen} tokens of TinyStories after story ${CALIB_SKIP}, seed ${CALIB.seed}` });
    await rm(checkpointDir, { recursive: true, force: true });
    await record({
      job: job.id, metric: 'quant', ppl: sim.ppl, seconds: qm.seconds, bytes: packedSizeBytes(qm), epochs, nsamples, label: settingsLabel(c.settings),
      fellBack: qm.blocks.filter((b) => b.fellBack).map((b) => b.layer), flexqLayers: qm.flexq?.chosen, resumed: qm.blocks.some((b) => b.resumed),
    });
  }
  if ((metrics.has('int') || metrics.has('wiki')) && !existsSync(dir)) {
    // Uncalibrated models are cheap and deterministic to rebuild; calibrated ones must come from their quant run.
    if (methodTraits(job.method).calibrated) { console.log(`${job.id}: no packed folder in ${args.models}; skipping int/wiki`); return; }
    await writeQuantizedModel(dir, await quantizeModel({ model: MODEL, method: job.method, settings: c.settings, calib: { file: STORIES, ...CALIB, skip: CALIB_SKIP } }));
  }
  if (metrics.has('int')) {
    // Both paths of the same packed folder on the same (shorter) text: the integer path is the slow oracle.
    const integer = await evaluatePerplexity((await loadPackedLlama(dir, 'integer')).model, await plans.intStories());
    const simulated = await evaluatePerplexity((await loadPackedLlama(dir, 'simulated')).model, await plans.intStories());
    await record({ job: job.id, metric: 'int', ppl: integer.ppl, simPpl: simulated.ppl });
  }
  if (metrics.has('wiki')) {
    const { model } = await loadPackedLlama(dir, 'simulated');
    await record({ job: job.id, metric: 'wiki', ppl: (await evaluatePerplexity(model, await plans.wiki())).ppl });
  }
}

async function main(): Promise<void> {
  const metrics = new Set(args.metrics!.split(','));
  const all = accuracyJobs();
  if (args.job) {
    const job = all.find((j) => j.id === args.job);
    if (!job) throw new Error(`unknown job ${args.job}`);
    await runJob(job, metrics);
    return;
  }
  if (!args['write-doc-only']) {
    const only = args.only ? new Set(args.only.split(',')) : undefined;
    const done = new Set((await readRecords(args.results!)).map((r) => `${r.job}/${r.metric}`));
    const queue = all.filter((j) => (!only || only.has(j.id)) && [...metrics].some((m) => !done.has(`${j.id}/${m}`) && !(j.method === 'fp' && m === 'int')));
    const workers = Math.max(1, Number(args.jobs));
    console.log(`${queue.length} jobs on ${workers} workers: ${queue.map((j) => j.id).join(' ')}`);
    const t0 = performance.now();
    const passArgs = ['--metrics', args.metrics!, '--results', args.results!, '--models', args.models!, '--epochs-scale', args['epochs-scale']!, ...(args.nsamples ? ['--nsamples', args.nsamples] : [])];
    const worker = async (): Promise<void> => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const missing = [...metrics].filter((m) => !done.has(`${job!.id}/${m}`));
        const code = await new Promise<number>((resolve) => {
          fork(fileURLToPath(import.meta.url), ['--job', job!.id, ...passArgs, '--metrics', missing.join(',')], { stdio: 'inherit' }).on('exit', (c) => resolve(c ?? 1));
        });
        console.log(`${job.id}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} at ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
  }
  if (!args['no-doc']) await writeAccuracyDoc(await readRecords(args.results!), { notes: args.note, machine: args.machine, partial: !!args.partial, evalStories: EVAL_STORIES, wikiTokens: WIKI_MAX_TOKENS, calib: CALIB, calibSkip: CALIB_SKIP });
}

main().catch((e) => { console.error(e); process.exitCode = 1; });

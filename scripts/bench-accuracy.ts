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
 * int and wiki need the packed folder of the quant run. Where it was not kept, it is re-made from the
 * quant record's settings and must reproduce the recorded TinyStories perplexity (a 'repack' record;
 * --skip-remake-check re-makes it without that 500-story evaluation, recorded as unchecked).
 *
 *   npx tsx scripts/bench-accuracy.ts [--jobs 2] [--only id,id] [--metrics quant,int,wiki] [--skip-remake-check]
 *     [--write-doc-only] [--notes-file .bench/accuracy-notes.md] [--machine text] [--note text]...
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
/** A re-made packed folder must reproduce its recorded perplexity (quantization is seeded and deterministic). */
const REPACK_TOLERANCE = 1e-9;

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1' }, only: { type: 'string' }, metrics: { type: 'string', default: 'quant,int,wiki' },
    results: { type: 'string', default: path.join(REPO, '.bench', 'accuracy-results.jsonl') },
    models: { type: 'string', default: path.join(REPO, '.bench', 'accuracy-models') },
    job: { type: 'string' }, 'write-doc-only': { type: 'boolean' }, 'no-doc': { type: 'boolean' }, 'skip-remake-check': { type: 'boolean' },
    nsamples: { type: 'string' }, 'epochs-scale': { type: 'string', default: '1' }, machine: { type: 'string' }, note: { type: 'string', multiple: true },
    'notes-file': { type: 'string', default: path.join(REPO, '.bench', 'accuracy-notes.md') },
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

/** Quantizes one job and measures its simulated path on TinyStories (the figure its records carry). */
async function quantizeJob(job: AccuracyJob, nsamples: number, epochs: number, plans: ReturnType<typeof evalPlans>, evaluate = true) {
  const c = job.config!;
  // Per-block checkpoints let a job cut off by a time limit resume where it stopped.
  const checkpointDir = path.join(args.models!, `${job.id}.calib`);
  const qm = await quantizeModel({ model: MODEL, method: job.method, settings: c.settings, epochs, calib: { file: STORIES, ...CALIB, nsamples, skip: CALIB_SKIP }, checkpointDir, resume: true });
  const sim = evaluate ? await evaluatePerplexity(buildQuantizedLlama(qm.source.config, layersForModel(qm.layers), (n) => qm.floats.get(n), 'simulated'), await plans.stories()) : undefined;
  const write = async () => {
    const dir = path.join(args.models!, job.id);
    await rm(dir, { recursive: true, force: true });
    await writeQuantizedModel(dir, qm, { perplexity: sim ? { [`TinyStories first ${EVAL_STORIES} (stream, ${SEQLEN})`]: { quant: sim.ppl, path: 'simulated' } } : undefined, calibration: `${nsamples} x ${CALIB.seqlen} tokens of TinyStories after story ${CALIB_SKIP}, seed ${CALIB.seed}` });
    await rm(checkpointDir, { recursive: true, force: true });
  };
  return { qm, ppl: sim?.ppl, resumed: qm.blocks.some((b) => b.resumed), write };
}

/**
 * A packed folder that was not kept is re-made with exactly the settings of the job's quant record
 * (samples, epochs; seed and calibration text are fixed), reusing any matching block checkpoints.
 * Quantization is deterministic, so its TinyStories perplexity must equal the recorded one; a folder
 * that does not reproduce it is not written, and int/wiki are not measured on it.
 */
async function remakePackedFolder(job: AccuracyJob, plans: ReturnType<typeof evalPlans>, check: boolean): Promise<void> {
  const rec = (await readRecords(args.results!)).filter((r) => r.job === job.id && r.metric === 'quant').pop();
  if (!rec?.ppl) throw new Error(`${job.id}: no packed folder in ${args.models} and no quant record in ${args.results} to re-make it from; run --metrics quant first`);
  const nsamples = rec.nsamples ?? CALIB.nsamples, epochs = rec.epochs ?? job.config!.epochs;
  const t0 = performance.now();
  const q = await quantizeJob(job, nsamples, epochs, plans, check);
  const seconds = (performance.now() - t0) / 1000;
  await record({ job: job.id, metric: 'repack', ppl: q.ppl, recordedPpl: rec.ppl, seconds, nsamples, epochs, resumed: q.resumed });
  const relDiff = q.ppl === undefined ? 0 : (q.ppl - rec.ppl) / rec.ppl;
  if (Math.abs(relDiff) > REPACK_TOLERANCE) {
    throw new Error(`${job.id}: the re-made model gives TinyStories ppl ${q.ppl} but its quant record says ${rec.ppl} (${(relDiff * 100).toPrecision(3)}%) with ${nsamples} samples x ${epochs} epochs; the folder was not written: find out what changed (code, data, settings) before measuring int/wiki`);
  }
  await q.write();
  console.log(`${job.id}: re-made packed folder (${nsamples}x${epochs}${q.resumed ? ', from block checkpoints' : ''}): ${q.ppl === undefined ? 'not checked (--skip-remake-check)' : `ppl ${q.ppl} = recorded ${rec.ppl}`}`);
}

async function timed<T>(job: AccuracyJob, what: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await f();
  console.log(`${job.id}: ${what} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return r;
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
    const q = await timed(job, 'quant', () => quantizeJob(job, nsamples, epochs, plans));
    await q.write();
    await record({
      job: job.id, metric: 'quant', ppl: q.ppl!, seconds: q.qm.seconds, bytes: packedSizeBytes(q.qm), epochs, nsamples, label: settingsLabel(c.settings),
      fellBack: q.qm.blocks.filter((b) => b.fellBack).map((b) => b.layer), flexqLayers: q.qm.flexq?.chosen, resumed: q.resumed,
    });
  }
  if ((metrics.has('int') || metrics.has('wiki')) && !existsSync(dir)) await timed(job, 're-make', () => remakePackedFolder(job, plans, !args['skip-remake-check']));
  if (metrics.has('int')) {
    // Both paths of the same packed folder on the same (shorter) text: the integer path is the slow oracle.
    const integer = await timed(job, 'int (integer path)', async () => evaluatePerplexity((await loadPackedLlama(dir, 'integer')).model, await plans.intStories()));
    const simulated = await timed(job, 'int (simulated path)', async () => evaluatePerplexity((await loadPackedLlama(dir, 'simulated')).model, await plans.intStories()));
    await record({ job: job.id, metric: 'int', ppl: integer.ppl, simPpl: simulated.ppl });
  }
  if (metrics.has('wiki')) {
    const { model } = await loadPackedLlama(dir, 'simulated');
    await record({ job: job.id, metric: 'wiki', ppl: (await timed(job, 'wiki', async () => evaluatePerplexity(model, await plans.wiki()))).ppl });
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
    const passArgs = ['--results', args.results!, '--models', args.models!, '--epochs-scale', args['epochs-scale']!, ...(args.nsamples ? ['--nsamples', args.nsamples] : []), ...(args['skip-remake-check'] ? ['--skip-remake-check'] : [])];
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
  if (!args['no-doc']) {
    const { notes, machine } = await readNotes(args['notes-file']!);
    await writeAccuracyDoc(await readRecords(args.results!), { notes: [...notes, ...(args.note ?? [])], machine: args.machine ?? machine, evalStories: EVAL_STORIES, wikiTokens: WIKI_MAX_TOKENS, calib: CALIB, calibSkip: CALIB_SKIP });
  }
}

/**
 * Notes about the run that the records cannot say (where it ran, what was cut and why), kept beside the
 * results so that --write-doc-only rebuilds the same page: one "- " bullet per note, and optionally a
 * "Machine: ..." line. An absent file means no notes.
 */
async function readNotes(file: string): Promise<{ notes: string[]; machine?: string }> {
  if (!existsSync(file)) return { notes: [] };
  const lines = (await readFile(file, 'utf8')).split('\n');
  const machine = lines.find((l) => l.startsWith('Machine: '))?.slice('Machine: '.length).trim();
  return { notes: lines.filter((l) => l.startsWith('- ')).map((l) => l.slice(2).trim()), machine };
}

main().catch((e) => { console.error(e); process.exitCode = 1; });

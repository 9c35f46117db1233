/**
 * `abq-pack quantize`: quantizes a Hugging Face LLaMA-family folder into a packed model folder.
 * Thin over shared/quant; this file parses options, draws progress and prints the summary.
 */
import { type Command, type OptionValues, UsageError, intOption, numberOption } from '../command.ts';
import {
  DEFAULT_CALIB, DEFAULT_SETTINGS, METHOD_NAMES, METHODS, QuantError, checkActBits, estimatePackedSize, parseOverride, parseWeightBits,
  quantizeModel, settingsLabel, clearCheckpoints, type QuantSettings, type QuantizeProgress, type CalibrationSettings,
} from '../../../shared/quant/index.ts';
import { ModelSource } from '../../../shared/quant/model-source.ts';
import { writeQuantizedModel, packedSizeBytes } from '../../../shared/quant/write-packed.ts';
import { buildQuantizedLlama, layersForModel } from '../../../shared/quant/build-model.ts';
import { evaluatePerplexity, prepareEval } from '../../../shared/eval/index.ts';
import { loadTokenizer } from '../../../shared/tokenizer/load-tokenizer.ts';
import { loadLlamaModel } from '../../../shared/model/load.ts';
import { readFile } from 'node:fs/promises';
import { pushCommand } from './push.ts';

const MAX_SAMPLES = 1 << 16;
const EVAL_SEQLEN = 512;

function settingsFrom(o: OptionValues): QuantSettings {
  const w = parseWeightBits(String(o.w));
  const a = intOption(o, 'a', 16, 1, 16);
  try { checkActBits(a); } catch (e) { throw new UsageError((e as Error).message); }
  const overrides = ((o.override as string[] | undefined) ?? []).map(parseOverride);
  return { ...DEFAULT_SETTINGS, w, a, group: intOption(o, 'group', 0, 0, 1 << 20), symmetric: !!o.sym, actGroup: intOption(o, 'act-group', 0, 0, 1 << 20), partialGroups: !!o['partial-groups'], overrides };
}

/** One cli-progress bar per block (epochs, loss, ETA) on a terminal; plain lines otherwise. */
async function progressSink(): Promise<QuantizeProgress & { stop(): void }> {
  const tty = process.stderr.isTTY;
  const cliProgress = tty ? (await import('cli-progress')).default : undefined;
  let bar: InstanceType<NonNullable<typeof cliProgress>['SingleBar']> | undefined;
  const started = performance.now();
  let done = 0, total = 0;
  return {
    blockStart(l, layers, epochs) {
      total = layers * epochs;
      if (cliProgress) {
        bar?.stop();
        bar = new cliProgress.SingleBar({ format: `block ${l + 1}/${layers} [{bar}] epoch {value}/{total} loss {loss} | block ETA {eta}s | total ETA {total_eta}s`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
        bar.start(epochs, 0, { loss: '-', total_eta: '-' });
      } else process.stderr.write(`block ${l + 1}/${layers}: calibrating ${epochs} epochs\n`);
    },
    epoch(l, e, loss) {
      done++;
      const perEpoch = (performance.now() - started) / 1000 / done;
      const eta = Math.round(perEpoch * (total - done));
      if (bar) bar.update(e + 1, { loss: loss.toExponential(3), total_eta: eta });
      else process.stderr.write(`  block ${l + 1} epoch ${e + 1}: loss ${loss.toExponential(3)} (about ${eta}s left)\n`);
    },
    blockDone(l, r) {
      bar?.stop();
      bar = undefined;
      if (r.resumed) process.stderr.write(`block ${l + 1}: resumed from checkpoint\n`);
      else if (r.initialLoss !== undefined) process.stderr.write(`block ${l + 1}: loss ${r.initialLoss.toExponential(3)} -> ${r.finalLoss!.toExponential(3)}\n`);
      else process.stderr.write(`block ${l + 1}: quantized\n`);
    },
    message(text) { bar?.stop(); process.stderr.write(`${text}\n`); },
    stop() { bar?.stop(); },
  };
}

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'Quantize a Hugging Face LLaMA-family model into a packed folder',
  details: 'Methods:\n' + METHODS.map((m) => `  ${m.name.padEnd(12)} ${m.summary}`).join('\n') +
    '\nWeights: --w 1..8, or 2* for ABQ\'s 5-level W2* in 3 bit planes. Activations: --a 1..8, or 16 (weight-only).\n' +
    'Per-layer mix: --override "<module substring>:a8" (or :w8, :w6a8), repeatable; later ones win.',
  positionals: [{ name: 'model', description: 'Hugging Face folder (config.json, model.safetensors, tokenizer.json)', required: true }],
  options: {
    method: { type: 'string', description: 'quantization method', enum: METHOD_NAMES, default: 'rtn', valueName: '<name>' },
    w: { type: 'string', description: 'weight bits (1..8 or 2*)', default: '4', valueName: '<bits>' },
    a: { type: 'string', description: 'activation bits (1..8, or 16 = not quantized)', default: '16', valueName: '<bits>' },
    group: { type: 'string', description: 'weight group size (multiple of 32; 0 = per channel)', default: '0', valueName: '<n>' },
    sym: { type: 'boolean', description: 'symmetric weight grid' },
    'act-group': { type: 'string', description: 'activation group size (0 = per token)', default: '0', valueName: '<n>' },
    'partial-groups': { type: 'boolean', description: 'allow a shorter last group when the group size does not divide K' },
    override: { type: 'string', multiple: true, description: 'per-layer bits, e.g. "down_proj:a8"', valueName: '<rule>' },
    out: { type: 'string', description: 'output folder', valueName: '<dir>' },
    calib: { type: 'string', description: 'calibration text file (calibrated methods, flexq)', valueName: '<file>' },
    nsamples: { type: 'string', description: 'calibration samples', default: String(DEFAULT_CALIB.nsamples), valueName: '<n>' },
    seqlen: { type: 'string', description: 'tokens per calibration sample', default: String(DEFAULT_CALIB.seqlen), valueName: '<n>' },
    seed: { type: 'string', description: 'seed of the calibration sampling', default: '0', valueName: '<n>' },
    'calib-skip': { type: 'string', description: 'skip the first N documents of the calibration file', default: '0', valueName: '<n>' },
    epochs: { type: 'string', description: "epochs per block (default: the method's)", valueName: '<n>' },
    'flexq-budget': { type: 'string', description: 'FlexQ: fraction of layers kept at A8 (default 0.1)', valueName: '<f>' },
    'flexq-threshold': { type: 'string', description: 'FlexQ: keep A8 where it lowers the loss by at least this (nats); overrides the budget', valueName: '<f>' },
    resume: { type: 'boolean', description: 'reuse per-block checkpoints in <out>.calib/ from an interrupted run' },
    eval: { type: 'string', description: 'measure perplexity on this text (stream protocol) for the model card', valueName: '<file>' },
    'eval-stories': { type: 'string', description: 'only the first N documents of --eval', valueName: '<n>' },
    'dry-run': { type: 'boolean', description: 'print the output size and exit' },
    push: { type: 'string', description: 'then publish the folder to this Hub repo, as `abq-pack push` does (token: --token or $HF_TOKEN)', valueName: '<user/repo>' },
    private: { type: 'boolean', description: 'with --push: create the repo private' },
    license: { type: 'string', description: "with --push: the model card's license (default: the source model's)", valueName: '<id>' },
    token: { type: 'string', description: 'with --push: Hugging Face access token (hf_...); default: $HF_TOKEN', valueName: '<hf_...>' },
    endpoint: { type: 'string', description: 'with --push: Hub URL; default: $HF_ENDPOINT or https://huggingface.co', valueName: '<url>' },
  },
  examples: [
    'abq-pack quantize ../shared/models/stories260K --w 4 --a 8 --method omniquant --calib stories.txt --calib-skip 500 --out out/s260k-w4a8',
    'abq-pack quantize ./llama --w 2* --a 8 --method abq --group 128 --calib wiki.train.raw --out out/llama-w2star',
    'abq-pack quantize ./llama --w 6 --a 6 --group 128 --method flexq --calib c4.txt --flexq-budget 0.15 --out out/llama-flexq',
    'abq-pack quantize ../shared/models/stories260K --w 4 --a 8 --eval stories.txt --out out/s260k-w4a8 --push me/stories260K-w4a8',
  ],
  async run([model], o) {
    let settings: QuantSettings;
    try { settings = settingsFrom(o); } catch (e) { throw e instanceof QuantError ? new UsageError(e.message) : e; }
    if (o['dry-run']) {
      const src = await ModelSource.open(model);
      try {
        const est = estimatePackedSize(src.config, settings);
        console.log(`${settingsLabel(settings)}: ${est.layers} quantized linears, ${(est.packedBytes / 2 ** 20).toFixed(2)} MiB packed + ${(est.floatBytes / 2 ** 20).toFixed(2)} MiB float tensors = ${((est.packedBytes + est.floatBytes) / 2 ** 20).toFixed(2)} MiB (source at F16: ${(est.sourceF16Bytes / 2 ** 20).toFixed(2)} MiB)`);
      } finally { await src.close(); }
      return 0;
    }
    if (typeof o.out !== 'string' || !o.out) throw new UsageError('--out <dir> is required (or --dry-run)');
    const calib: CalibrationSettings | undefined = typeof o.calib === 'string' ? {
      file: o.calib, nsamples: intOption(o, 'nsamples', DEFAULT_CALIB.nsamples, 1, MAX_SAMPLES), seqlen: intOption(o, 'seqlen', DEFAULT_CALIB.seqlen, 2, 1 << 20),
      seed: intOption(o, 'seed', 0, 0, 2 ** 31 - 1), skip: intOption(o, 'calib-skip', 0, 0, 2 ** 31 - 1),
    } : undefined;
    const progress = await progressSink();
    const qm = await quantizeModel({
      model, method: String(o.method), settings, calib, epochs: o.epochs === undefined ? undefined : intOption(o, 'epochs', 0, 0, 10000),
      flexq: { budget: o['flexq-budget'] === undefined ? undefined : numberOption(o, 'flexq-budget'), threshold: o['flexq-threshold'] === undefined ? undefined : numberOption(o, 'flexq-threshold') },
      checkpointDir: calib ? `${o.out}.calib` : undefined, resume: !!o.resume, progress,
    }).finally(() => progress.stop());
    const perplexity: Record<string, { fp: number; quant: number; path: string }> = {};
    if (typeof o.eval === 'string') {
      const tok = await loadTokenizer(model);
      const stories = o['eval-stories'] === undefined ? undefined : intOption(o, 'eval-stories', undefined, 1, 2 ** 31 - 1);
      const plan = prepareEval(await readFile(o.eval, 'utf8'), tok, { protocol: 'stream', seqlen: Math.min(EVAL_SEQLEN, qm.source.config.maxPositionEmbeddings), stories });
      const fp = await evaluatePerplexity((await loadLlamaModel(model)).model, plan);
      const layers = layersForModel(qm.layers);
      const q = await evaluatePerplexity(buildQuantizedLlama(qm.source.config, layers, (n) => qm.floats.get(n), 'integer'), plan);
      perplexity[`${o.eval.split(/[\\/]/).pop()}${stories ? `, first ${stories} documents` : ''} (stream, ${plan.seqlen})`] = { fp: fp.ppl, quant: q.ppl, path: 'integer' };
      console.log(`perplexity: full precision ${fp.ppl.toFixed(4)}, ${settingsLabel(settings)} ${q.ppl.toFixed(4)}`);
    }
    await writeQuantizedModel(o.out, qm, { perplexity, calibration: calib && `${calib.nsamples} x ${calib.seqlen} tokens of ${calib.file.split(/[\\/]/).pop()} (documents after the first ${calib.skip}), seed ${calib.seed}` });
    if (calib) await clearCheckpoints(`${o.out}.calib`);
    console.log(`${settingsLabel(settings)} ${qm.method.name}: wrote ${o.out} (${(packedSizeBytes(qm) / 2 ** 20).toFixed(2)} MiB) in ${qm.seconds.toFixed(1)} s`);
    if (qm.flexq) console.log(`FlexQ A8 layers: ${qm.flexq.chosen.join(', ') || '(none)'}`);
    if (typeof o.push === 'string') {
      // The measured perplexity is already in the folder's report, which the card generator reads.
      return pushCommand.run([o.out, o.push], { private: o.private, license: o.license, token: o.token, endpoint: o.endpoint, retries: '4' });
    }
    return 0;
  },
};

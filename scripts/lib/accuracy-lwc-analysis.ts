/**
 * Why a calibrated row does not beat RTN: re-runs one weight-only LWC calibration (omniquant's loop;
 * affinequant learns the same parameters when activations are not quantized) block by block and prints
 * per block
 *   - the block loss (MSE vs the full-precision block output) of RTN and of the LWC parameters on the
 *     same inputs, at initialisation and after calibration, and of the RTN model on its own inputs;
 *   - where the learned clip factors ended (mean / min of sigmoid(logit));
 *   - whether the learned parameters equal a saved checkpoint bit for bit (a determinism check against
 *     another machine's run, when --checkpoints names its block-<l>.safetensors folder);
 * and the relative L2 error of the last block's output, for the calibrated and the RTN model.
 *
 *   npx tsx scripts/lib/accuracy-lwc-analysis.ts --w 2 --nsamples 16 --epochs 5 [--checkpoints <dir>]
 *
 * Uses the bench's calibration data (TinyStories after story 500, 256-token windows, seed 0).
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ModelSource } from '../../shared/quant/model-source.ts';
import { calibrateBlock } from '../../shared/quant/calibrate-block.ts';
import { blockForward, quantizeBlockWeights, transformBlock, type BlockFp, type BlockParams, type BlockSpecs } from '../../shared/quant/block.ts';
import { calibrationSamples, readDocuments } from '../../shared/quant/calibration-data.ts';
import { initBlockParams, cloneParams } from '../../shared/quant/params.ts';
import { methodTraits } from '../../shared/quant/methods.ts';
import { DEFAULT_SETTINGS, LINEAR_NAMES, layerSpec, parseWeightBits } from '../../shared/quant/quant-config.ts';
import { constant, type Tensor } from '../../shared/quant/autograd/index.ts';
import { ropeAngles, ropeInvFreqFor } from '../../shared/model/rope.ts';
import { linearModuleName } from '../../shared/model/weights.ts';
import { loadTokenizer } from '../../shared/tokenizer/load-tokenizer.ts';
import { parseSafetensors } from '../../shared/format/safetensors-read.ts';
import type { LinearName } from '../../shared/model/llama.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SHARED = process.env.ABQ_SHARED ?? path.resolve(REPO, '..', 'shared');
const MODEL = path.join(SHARED, 'models', 'stories260K');
const STORIES = path.join(SHARED, 'datasets', 'tinystories', 'TinyStories-validation-first1000.txt');
const CALIB = { seqlen: 256, seed: 0, skip: 500 };

const { values: args } = parseArgs({
  options: {
    w: { type: 'string', default: '2' }, group: { type: 'string', default: '0' }, nsamples: { type: 'string', default: '16' },
    epochs: { type: 'string', default: '5' }, checkpoints: { type: 'string' },
  },
});

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const e3 = (v: number) => v.toExponential(3);

/** Do the learned params equal the checkpoint's tensors bit for bit? */
async function sameAsCheckpoint(params: BlockParams, file: string): Promise<string> {
  const st = parseSafetensors(new Uint8Array(await readFile(file).catch(() => new Uint8Array())));
  const tensor = (name: string): Tensor | undefined => {
    const [kind, n] = name.split('.');
    return kind === 'clipLo' || kind === 'clipHi' ? params[kind]?.[n as LinearName] : undefined;
  };
  return String(st.names().every((n) => { const t = tensor(n), a = st.f32(n); return !!t && t.data.length === a.length && t.data.every((v, i) => Object.is(v, a[i])); }));
}

async function main(): Promise<void> {
  const settings = { ...DEFAULT_SETTINGS, w: parseWeightBits(args.w!), a: 16, group: Number(args.group), partialGroups: Number(args.group) > 0 };
  const traits = methodTraits('omniquant');
  const nsamples = Number(args.nsamples), epochs = Number(args.epochs);
  const src = await ModelSource.open(MODEL);
  const dims = src.dims, c = src.config;
  const samples = calibrationSamples(await readDocuments(STORIES), await loadTokenizer(MODEL), { nsamples, ...CALIB });
  const embed = await src.tensor('model.embed_tokens.weight');
  let xFp: Float32Array[] = samples.map((ids) => { const x = new Float32Array(ids.length * dims.d); ids.forEach((id, t) => x.set(embed.subarray(id * dims.d, (id + 1) * dims.d), t * dims.d)); return x; });
  let xQ: Float32Array[] = xFp.map((x) => x.slice()), xRtn: Float32Array[] = xFp.map((x) => x.slice());
  const ang = ropeAngles(ropeInvFreqFor(c), Array.from({ length: CALIB.seqlen }, (_, i) => i));
  const table = { cos: ang.cos, sin: ang.sin, half: ang.half, t: ang.n };
  const forward = (fp: BlockFp, specs: BlockSpecs | undefined, p: BlockParams, xs: Float32Array[]) => {
    const frozen = cloneParams(p);
    const tb = transformBlock(fp, dims, frozen);
    const w = specs ? quantizeBlockWeights(tb, specs, frozen) : tb.w;
    return xs.map((x) => blockForward(constant(x, [x.length / dims.d, dims.d]), tb, w, dims, table, specs).y.data);
  };
  console.log(`W${args.w}A16 ${settings.group ? `g${settings.group}` : 'per channel'}, LWC (omniquant without LET), ${nsamples} samples x ${epochs} epochs`);
  console.log('| block | RTN loss | LWC loss at init | LWC loss after | RTN loss on its own inputs | clip hi mean/min | clip lo mean/min | = checkpoint |');
  console.log('|---|---:|---:|---:|---:|---|---|---|');
  for (let l = 0; l < c.numLayers; l++) {
    const fp = await src.block(l);
    const k: Record<LinearName, number> = { q: dims.d, k: dims.d, v: dims.d, o: dims.heads * dims.headDim, gate: dims.d, up: dims.d, down: dims.inter };
    const specs = Object.fromEntries(LINEAR_NAMES.map((n) => [n, layerSpec(settings, linearModuleName(l, n), k[n])])) as BlockSpecs;
    const targets = forward(fp, undefined, {}, xFp);
    const rtn = calibrateBlock(fp, dims, specs, table, {}, { inputs: xQ, targets }, { traits, epochs: 0 });
    const rtnOwn = calibrateBlock(fp, dims, specs, table, {}, { inputs: xRtn, targets }, { traits, epochs: 0 });
    // Activation statistics only seed LET, which weight-only calibration does not use.
    const stats = { qkv: new Float32Array(dims.d), o: new Float32Array(dims.heads * dims.headDim), gu: new Float32Array(dims.d), down: new Float32Array(dims.inter) };
    const params = initBlockParams({ fp, dims, specs, stats, traits, edgeBlock: l === 0 || l === c.numLayers - 1, seed: CALIB.seed + l });
    const r = calibrateBlock(fp, dims, specs, table, params, { inputs: xQ, targets }, { traits, epochs });
    const clips = (rec?: Partial<Record<LinearName, Tensor>>) => Object.values(rec ?? {}).flatMap((t) => [...t!.data].map(sigmoid));
    const hi = clips(params.clipHi), lo = clips(params.clipLo);
    const same = args.checkpoints ? await sameAsCheckpoint(params, path.join(args.checkpoints, `block-${l}.safetensors`)) : '-';
    console.log(`| ${l} | ${e3(rtn.initialLoss)} | ${e3(r.initialLoss)} | ${e3(r.finalLoss)} | ${e3(rtnOwn.initialLoss)} | ${mean(hi).toFixed(3)}/${Math.min(...hi).toFixed(3)} | ${lo.length ? `${mean(lo).toFixed(3)}/${Math.min(...lo).toFixed(3)}` : '-'} | ${same} |`);
    xQ = forward(fp, specs, params, xQ);
    xRtn = forward(fp, specs, {}, xRtn);
    xFp = targets;
  }
  const relErr = (xs: Float32Array[]) => { let e = 0, n = 0; xs.forEach((x, i) => { for (let j = 0; j < x.length; j++) { e += (x[j] - xFp[i][j]) ** 2; n += xFp[i][j] ** 2; } }); return Math.sqrt(e / n); };
  console.log(`\nlast block's output, relative L2 error vs full precision: LWC ${relErr(xQ).toFixed(4)}, RTN ${relErr(xRtn).toFixed(4)}`);
  await src.close();
}

main().catch((e) => { console.error(e); process.exitCode = 1; });

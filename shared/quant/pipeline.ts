/**
 * quantizeModel: the whole quantizer, block by block.
 *
 *   for each block l (only its weights in memory):
 *     specs      = per-layer bits/groups (quant-config.ts), validated against the shapes first
 *     calibrated methods:
 *       targets  = full-precision block on full-precision inputs (and attention maps for ABQ)
 *       params   = from the resume checkpoint, or initialised and optimised (calibrate-block.ts)
 *       inputs of block l+1 = this block, quantized exactly as packed, on its quantized inputs
 *     fold the params into the weights (fold.ts), quantize and pack each linear (real bit planes)
 *   FlexQ: sensitivity analysis over the packed model picks the layers kept at A8 (flexq.ts)
 *
 * The output (packed layers, folded norms, embeddings) is held in memory, which for low bit widths
 * is a fraction of the float model; writing is in write-packed.ts.
 */
import { constant } from './autograd/index.ts';
import { blockForward, quantizeBlockWeights, transformBlock, type BlockFp, type BlockParams, type BlockSpecs } from './block.ts';
import { calibrateBlock, type CalibrateResult } from './calibrate-block.ts';
import { calibrationSamples, readDocuments } from './calibration-data.ts';
import { QuantError } from './errors.ts';
import { foldBlock } from './fold.ts';
import { methodTraits, type MethodTraits } from './methods.ts';
import { ModelSource } from './model-source.ts';
import { cloneParams, initBlockParams, type ActStats } from './params.ts';
import { LINEAR_NAMES, layerSpec, type LayerQuantSpec, type QuantSettings } from './quant-config.ts';
import { packQuantized, quantizeFolded } from './quant-linear.ts';
import { loadBlockCheckpoint, saveBlockCheckpoint } from './resume.ts';
import { sha256File } from '../util/file-hash.ts';
import { selectA8Layers, type FlexqOptions, type FlexqReport } from './flexq.ts';
import { ropeAngles, ropeInvFreqFor } from '../model/rope.ts';
import { linearModuleName } from '../model/weights.ts';
import { loadTokenizer } from '../tokenizer/load-tokenizer.ts';
import type { LinearName } from '../model/llama.ts';
import type { PackedWeights } from '../numerics/packed-linear-ref.ts';
import type { RopeTable } from './autograd/index.ts';

export interface CalibrationSettings { file: string; nsamples: number; seqlen: number; seed: number; skip: number }

export interface QuantizeOptions {
  model: string;
  method: string;
  settings: QuantSettings;
  calib?: CalibrationSettings;
  /** Overrides the method's default number of epochs. */
  epochs?: number;
  flexq?: FlexqOptions;
  /** Folder where each calibrated block's parameters are saved (none when undefined). */
  checkpointDir?: string;
  /** Reuse matching checkpoints from checkpointDir (an interrupted run), replaying those blocks. */
  resume?: boolean;
  progress?: QuantizeProgress;
}

export interface QuantizeProgress {
  blockStart?(layer: number, layers: number, epochs: number): void;
  epoch?(layer: number, epoch: number, loss: number): void;
  blockDone?(layer: number, info: BlockReport): void;
  message?(text: string): void;
}

export interface BlockReport { layer: number; resumed: boolean; initialLoss?: number; finalLoss?: number; fellBack?: string }

/** One packed linear (the codes live only in the bit planes, so the output holds wbits bits per weight). */
export interface QuantizedLayer { name: string; spec: LayerQuantSpec; packed: PackedWeights }

export interface QuantizedModel {
  source: ModelSource;
  method: MethodTraits;
  settings: QuantSettings;
  layers: QuantizedLayer[];
  /** Unquantized tensors by HF name (norms already folded). */
  floats: Map<string, Float32Array>;
  blocks: BlockReport[];
  flexq?: FlexqReport;
  seconds: number;
}

export const DEFAULT_CALIB: Omit<CalibrationSettings, 'file'> = { nsamples: 32, seqlen: 256, seed: 0, skip: 0 };

function blockSpecs(src: ModelSource, settings: QuantSettings, layer: number): BlockSpecs {
  const d = src.dims;
  const k: Record<LinearName, number> = { q: d.d, k: d.d, v: d.d, o: d.heads * d.headDim, gate: d.d, up: d.d, down: d.inter };
  return Object.fromEntries(LINEAR_NAMES.map((n) => [n, layerSpec(settings, linearModuleName(layer, n), k[n])])) as BlockSpecs;
}

/**
 * What a block checkpoint must match to be resumed: method, settings, epochs, and the model and
 * calibration text by content (SHA-256), not by path, so checkpoints carry over between folders and machines.
 */
async function fingerprint(o: QuantizeOptions, epochs: number, src: ModelSource): Promise<string> {
  const calib = o.calib ? { ...o.calib, file: await sha256File(o.calib.file) } : undefined;
  return JSON.stringify({ m: o.method, s: o.settings, c: calib, e: epochs, model: await src.contentDigest() });
}

interface CalibState { table: RopeTable; xFp: Float32Array[]; xQ: Float32Array[]; samples: Int32Array[] }

async function prepareCalibration(src: ModelSource, o: QuantizeOptions): Promise<CalibState> {
  if (!o.calib) throw new QuantError(`method '${o.method}' needs calibration text: pass --calib <text file>`);
  const tok = await loadTokenizer(src.dir).catch((e: Error) => { throw new QuantError(e.message); });
  const samples = calibrationSamples(await readDocuments(o.calib.file), tok, o.calib);
  const c = src.config;
  if (o.calib.seqlen > c.maxPositionEmbeddings) throw new QuantError(`--seqlen ${o.calib.seqlen} exceeds the model's max_position_embeddings ${c.maxPositionEmbeddings}`);
  const embed = await src.tensor('model.embed_tokens.weight');
  const d = c.hiddenSize;
  const xFp = samples.map((ids) => {
    const x = new Float32Array(ids.length * d);
    ids.forEach((id, t) => x.set(embed.subarray(id * d, (id + 1) * d), t * d));
    return x;
  });
  const ang = ropeAngles(ropeInvFreqFor(c), Array.from({ length: o.calib.seqlen }, (_, i) => i));
  return { table: { cos: ang.cos, sin: ang.sin, half: ang.half, t: ang.n }, xFp, xQ: xFp.map((x) => x.slice()), samples };
}

/** Full-precision outputs, attention maps and per-channel input maxima of one block. */
function fpPass(fp: BlockFp, src: ModelSource, st: CalibState, wantProbs: boolean) {
  const dims = src.dims;
  const tb = transformBlock(fp, dims, {});
  const stats: ActStats = { qkv: new Float32Array(dims.d), o: new Float32Array(dims.heads * dims.headDim), gu: new Float32Array(dims.d), down: new Float32Array(dims.inter) };
  const key: Record<LinearName, keyof ActStats> = { q: 'qkv', k: 'qkv', v: 'qkv', o: 'o', gate: 'gu', up: 'gu', down: 'down' };
  const targets: Float32Array[] = [], probs: Float32Array[] = [];
  for (const x of st.xFp) {
    const out = blockForward(constant(x, [x.length / dims.d, dims.d]), tb, tb.w, dims, st.table, undefined, (n, input) => {
      const s = stats[key[n]], k = s.length;
      for (let i = 0; i < input.size; i++) { const v = Math.abs(input.data[i]); if (v > s[i % k]) s[i % k] = v; }
    });
    targets.push(out.y.data);
    if (wantProbs) probs.push(out.probs.data);
  }
  return { targets, probs: wantProbs ? probs : undefined, stats };
}

export async function quantizeModel(o: QuantizeOptions): Promise<QuantizedModel> {
  const t0 = performance.now();
  const traits = methodTraits(o.method);
  const src = await ModelSource.open(o.model);
  try {
    const c = src.config;
    const specsPerBlock = Array.from({ length: c.numLayers }, (_, l) => blockSpecs(src, o.settings, l)); // validates all first
    const epochs = o.epochs ?? traits.epochs;
    const needData = traits.calibrated || traits.sensitivity;
    const st = needData ? await prepareCalibration(src, o) : undefined;
    const fprint = traits.calibrated && o.checkpointDir ? await fingerprint(o, epochs, src) : '';
    const layers: QuantizedLayer[] = [];
    const floats = new Map<string, Float32Array>();
    const blocks: BlockReport[] = [];
    for (let l = 0; l < c.numLayers; l++) {
      const fp = await src.block(l);
      const specs = specsPerBlock[l];
      let params: BlockParams = {};
      const report: BlockReport = { layer: l, resumed: false };
      if (traits.calibrated && st) {
        o.progress?.blockStart?.(l, c.numLayers, epochs);
        const fpOut = fpPass(fp, src, st, traits.distributionLoss);
        const saved = o.checkpointDir && o.resume ? await loadBlockCheckpoint(o.checkpointDir, l, fprint) : undefined;
        if (saved) {
          params = saved;
          report.resumed = true;
        } else {
          params = initBlockParams({ fp, dims: src.dims, specs, stats: fpOut.stats, traits, edgeBlock: l === 0 || l === c.numLayers - 1, seed: (o.calib?.seed ?? 0) + l });
          const r: CalibrateResult = calibrateBlock(fp, src.dims, specs, st.table, params, { inputs: st.xQ, targets: fpOut.targets, targetProbs: fpOut.probs }, {
            traits, epochs, onEpoch: (e, loss) => o.progress?.epoch?.(l, e, loss),
          });
          Object.assign(report, r);
          if (r.fellBack) o.progress?.message?.(`block ${l}: non-finite values during calibration (${r.fellBack}); fell back to the last good parameters of this block`);
          if (o.checkpointDir) await saveBlockCheckpoint(o.checkpointDir, l, fprint, params);
        }
        // Next block's inputs: this block quantized exactly as it will be packed.
        const frozen = cloneParams(params);
        const tb = transformBlock(fp, src.dims, frozen);
        const w = quantizeBlockWeights(tb, specs, frozen);
        st.xQ = st.xQ.map((x) => blockForward(constant(x, [x.length / src.dims.d, src.dims.d]), tb, w, src.dims, st.table, specs).y.data);
        st.xFp = fpOut.targets;
      }
      const folded = foldBlock(fp, src.dims, specs, params);
      for (const n of LINEAR_NAMES) {
        const f = folded.linears[n];
        const q = quantizeFolded(f);
        layers.push({ name: linearModuleName(l, n), spec: f.spec, packed: packQuantized(q, f.bias) });
      }
      floats.set(`model.layers.${l}.input_layernorm.weight`, folded.inputNorm);
      floats.set(`model.layers.${l}.post_attention_layernorm.weight`, folded.postNorm);
      blocks.push(report);
      o.progress?.blockDone?.(l, report);
    }
    floats.set('model.embed_tokens.weight', await src.tensor('model.embed_tokens.weight'));
    floats.set('model.norm.weight', await src.tensor('model.norm.weight'));
    if (!c.tieWordEmbeddings) floats.set('lm_head.weight', await src.tensor('lm_head.weight'));
    const qm: QuantizedModel = { source: src, method: traits, settings: o.settings, layers, floats, blocks, seconds: 0 };
    if (traits.sensitivity && st) {
      qm.flexq = selectA8Layers(qm, st.samples, o.flexq ?? {});
      o.progress?.message?.(`FlexQ: A8 kept on ${qm.flexq.chosen.length} of ${layers.length} layers: ${qm.flexq.chosen.join(', ') || '(none)'}`);
    }
    qm.seconds = (performance.now() - t0) / 1000;
    return qm;
  } finally {
    await src.close();
  }
}

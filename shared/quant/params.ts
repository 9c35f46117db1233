/**
 * Initial values of a block's learnable parameters, chosen by the method's traits.
 * - LWC logits start at LWC_INIT (sigmoid(4) = 0.982: nearly unclipped), as OmniQuant.
 * - LET scales start at SmoothQuant's s_j = max|X_j|^a / max|W_j|^(1-a) with a = 0.5, from
 *   activation statistics of the calibration data, as OmniQuant; shifts start at 0.
 * - AffineQuant's matrix starts as diag(s) of the same initial scales.
 * - ABQ's low-rank factors: L = 0 and Rt ~ N(0, LOW_RANK_INIT_STD^2), so the block starts unchanged.
 */
import { param, constant, type Tensor } from './autograd/index.ts';
import { LINEAR_NAMES } from './quant-config.ts';
import type { BlockDims, BlockFp, BlockParams, BlockSpecs } from './block.ts';
import { voIndex } from './block.ts';
import type { MethodTraits } from './methods.ts';
import type { LinearName } from '../model/llama.ts';
import { Rng } from '../util/rng.ts';
import { A16 } from '../numerics/packed-linear-ref.ts';

export const LWC_INIT = 4;
export const SMOOTH_ALPHA = 0.5;
export const LOW_RANK = 4;
export const LOW_RANK_INIT_STD = 0.01;
const MIN_SCALE = 1e-4;

/** Per-channel max |x| of the inputs of each linear (q, k, v share one; gate, up share one). */
export interface ActStats { qkv: Float32Array; o: Float32Array; gu: Float32Array; down: Float32Array }

function colAbsMax(w: Float32Array, n: number, k: number, out = new Float32Array(k)): Float32Array {
  for (let r = 0; r < n; r++) for (let j = 0; j < k; j++) out[j] = Math.max(out[j], Math.abs(w[r * k + j]));
  return out;
}

function logSmoothScales(act: Float32Array, wMax: Float32Array): Float32Array {
  const s = new Float32Array(act.length);
  for (let j = 0; j < s.length; j++) {
    const v = Math.pow(Math.max(act[j], 1e-5), SMOOTH_ALPHA) / Math.pow(Math.max(wMax[j], 1e-5), 1 - SMOOTH_ALPHA);
    s[j] = Math.log(Math.max(v, MIN_SCALE));
  }
  return s;
}

export interface InitContext { fp: BlockFp; dims: BlockDims; specs: BlockSpecs; stats: ActStats; traits: MethodTraits; edgeBlock: boolean; seed: number }

export function initBlockParams(ctx: InitContext): BlockParams {
  const { fp, dims, specs, stats, traits } = ctx;
  const { d, inter, heads, kvHeads, headDim } = dims;
  const p: BlockParams = {};
  const rows: Record<LinearName, [number, number]> = { q: [heads * headDim, d], k: [kvHeads * headDim, d], v: [kvHeads * headDim, d], o: [d, heads * headDim], gate: [inter, d], up: [inter, d], down: [d, inter] };
  if (traits.lwc) {
    p.clipLo = {};
    p.clipHi = {};
    for (const n of LINEAR_NAMES) {
      const [nOut, k] = rows[n];
      const groups = Math.ceil(k / specs[n].groupSize);
      p.clipHi[n] = param(new Float32Array(nOut * groups).fill(LWC_INIT), [nOut, groups]);
      // Symmetric grids use one range (max |w|): a single learnable factor is enough.
      if (!specs[n].symmetric) p.clipLo[n] = param(new Float32Array(nOut * groups).fill(LWC_INIT), [nOut, groups]);
    }
  }
  const actQuantized = LINEAR_NAMES.some((n) => specs[n].abits !== A16);
  // LET only helps when activations are quantized (OmniQuant turns it off for weight-only too).
  if (traits.let && actQuantized) {
    const wq = new Float32Array(d);
    for (const n of ['q', 'k', 'v'] as const) colAbsMax(fp.w[n], rows[n][0], d, wq);
    p.sQkv = param(logSmoothScales(stats.qkv, wq), [d]);
    const wg = new Float32Array(d);
    for (const n of ['gate', 'up'] as const) colAbsMax(fp.w[n], inter, d, wg);
    p.sGu = param(logSmoothScales(stats.gu, wg), [d]);
    p.sUd = param(logSmoothScales(stats.down, colAbsMax(fp.w.down, d, inter)), [inter]);
    // v->o: o's input channel c reads v channel voIndex[c]; reduce both statistics onto v channels.
    const kvd = kvHeads * headDim;
    const idx = voIndex(dims);
    const oW = colAbsMax(fp.w.o, d, heads * headDim);
    const actV = new Float32Array(kvd), wV = new Float32Array(kvd);
    for (let c = 0; c < idx.length; c++) { actV[idx[c]] = Math.max(actV[idx[c]], stats.o[c]); wV[idx[c]] = Math.max(wV[idx[c]], oW[c]); }
    const sVo = logSmoothScales(actV, wV);
    if (traits.affine) {
      const a = new Float32Array(kvHeads * headDim * headDim);
      for (let h = 0; h < kvHeads; h++) for (let i = 0; i < headDim; i++) a[h * headDim * headDim + i * headDim + i] = Math.exp(sVo[h * headDim + i]);
      p.affineVo = param(a, [kvHeads, headDim, headDim]);
      p.affineMask = bandMask(kvHeads, headDim, 0);
    } else {
      p.sVo = param(sVo, [kvd]);
      p.shiftVo = param(new Float32Array(kvd), [kvd]);
    }
  }
  if (traits.lowRank && ctx.edgeBlock) {
    const rng = new Rng(ctx.seed);
    p.lowRankL = param(new Float32Array(d * LOW_RANK), [d, LOW_RANK]);
    p.lowRankRt = param(rng.fillNormal(new Float32Array(inter * LOW_RANK), LOW_RANK_INIT_STD), [inter, LOW_RANK]);
  }
  return p;
}

/** AffineQuant's gradual mask: ones on the diagonal and on `band` off-diagonals each side. */
export function bandMask(blocks: number, dim: number, band: number): Float32Array {
  const m = new Float32Array(blocks * dim * dim);
  for (let b = 0; b < blocks; b++) for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) if (Math.abs(i - j) <= band) m[b * dim * dim + i * dim + j] = 1;
  return m;
}

/** Every learnable tensor, grouped as the optimiser needs them (clip factors vs transformations). */
export function paramGroups(p: BlockParams): { lwc: Tensor[]; let: Tensor[] } {
  const lwc = [...Object.values(p.clipLo ?? {}), ...Object.values(p.clipHi ?? {})].filter((t): t is Tensor => !!t);
  const lett = [p.sQkv, p.sGu, p.sUd, p.sVo, p.shiftVo, p.affineVo, p.lowRankL, p.lowRankRt].filter((t): t is Tensor => !!t);
  return { lwc, let: lett };
}

/** A copy of the params as constants (for gradient-free forwards) or as a snapshot. */
export function cloneParams(p: BlockParams, learnable = false): BlockParams {
  const cp = (t?: Tensor) => (t ? (learnable ? param(t.data.slice(), t.shape) : constant(t.data.slice(), t.shape)) : undefined);
  const map = (r?: Partial<Record<LinearName, Tensor>>) => (r ? Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cp(v)])) : undefined);
  return {
    clipLo: map(p.clipLo), clipHi: map(p.clipHi), sQkv: cp(p.sQkv), sGu: cp(p.sGu), sUd: cp(p.sUd), sVo: cp(p.sVo), shiftVo: cp(p.shiftVo),
    affineVo: cp(p.affineVo), affineMask: p.affineMask?.slice(), lowRankL: cp(p.lowRankL), lowRankRt: cp(p.lowRankRt),
  };
}

/** Copies the values of `src` into the tensors of `dst` (same structure). */
export function restoreParams(dst: BlockParams, src: BlockParams): void {
  const a = [...paramGroups(dst).lwc, ...paramGroups(dst).let];
  const b = [...paramGroups(src).lwc, ...paramGroups(src).let];
  a.forEach((t, i) => t.data.set(b[i].data));
  if (dst.affineMask && src.affineMask) dst.affineMask.set(src.affineMask);
}

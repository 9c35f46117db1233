/**
 * One LLaMA decoder block as differentiable ops, with the equivalent transformations of OmniQuant
 * (LET), AffineQuant and ABQ-LLM applied to its weights, and fake quantization of weights and
 * activations. The same code computes
 *   - the full-precision target (no params, no quantization),
 *   - the quantized block during calibration (params learnable),
 *   - the folded weights written at pack time (params fixed: transformBlock's data).
 *
 * Transformations (s = exp(theta) > 0 per channel; all exactly cancel in full precision):
 *   input_layernorm -> q,k,v:   g1' = g1 / s_qkv,          W' = W diag(s_qkv)
 *   v_proj -> o_proj:           v' = (v - delta) / s_vo,    W_o' = W_o diag(s_vo), b_o' = b_o + W_o delta
 *                               (softmax rows sum to 1, so attention commutes with both)
 *   AffineQuant instead:        v' = v A^-1 (A block diagonal per kv head), W_o' = W_o A^T
 *   post_attention_layernorm -> gate,up:  g2' = g2 / s_gu, W' = W diag(s_gu)
 *   up_proj -> down_proj:       up rows / s_ud, W_down' = W_down diag(s_ud) (SwiGLU is linear in up)
 *   ABQ low-rank:               W_down' += L R^T (first and last block), folded before quantization
 */
import {
  type Tensor, constant, linear, rmsNorm, rope, attentionProbs, attentionApply, swiglu, add, sub, mul, exp,
  mulRowVector, mulColVector, gather, reshape, sigmoidOp, leftBlocks, rightBlocks, invertBlocks, type RopeTable,
} from './autograd/index.ts';
import { fakeQuantAct, fakeQuantWeight } from './fake-quant.ts';
import { LINEAR_NAMES, toWeightSpec, type LayerQuantSpec } from './quant-config.ts';
import type { LinearName } from '../model/llama.ts';

export interface BlockDims { d: number; inter: number; heads: number; kvHeads: number; headDim: number; eps: number }

/** Full-precision weights of one block (HF [out, in] layout) and optional biases. */
export interface BlockFp {
  inputNorm: Float32Array;
  postNorm: Float32Array;
  w: Record<LinearName, Float32Array>;
  bias: Partial<Record<LinearName, Float32Array>>;
}

export type BlockSpecs = Record<LinearName, LayerQuantSpec>;

/** Learnable parameters of one block; absent fields are not used by the method. */
export interface BlockParams {
  /** LWC logits [N, groups]; clip = sigmoid(logit). */
  clipLo?: Partial<Record<LinearName, Tensor>>;
  clipHi?: Partial<Record<LinearName, Tensor>>;
  /** LET log-scales. */
  sQkv?: Tensor;
  sGu?: Tensor;
  sUd?: Tensor;
  sVo?: Tensor;
  shiftVo?: Tensor;
  /** AffineQuant [kvHeads, hd, hd] and its gradual mask (constant). */
  affineVo?: Tensor;
  affineMask?: Float32Array;
  /** ABQ low-rank compensation of down_proj: L [d, r], Rt [inter, r]. */
  lowRankL?: Tensor;
  lowRankRt?: Tensor;
}

export interface TransformedBlock {
  inputNorm: Tensor;
  postNorm: Tensor;
  w: Record<LinearName, Tensor>;
  bias: Partial<Record<LinearName, Tensor>>;
}

/** Index of the v channel feeding each o input channel (GQA: query head h reads kv head h / (H/KV)). */
export function voIndex(dims: BlockDims): Int32Array {
  const { heads, kvHeads, headDim } = dims;
  const idx = new Int32Array(heads * headDim);
  for (let c = 0; c < idx.length; c++) idx[c] = Math.floor(Math.floor(c / headDim) / (heads / kvHeads)) * headDim + (c % headDim);
  return idx;
}

export function headToKv(dims: BlockDims): Int32Array {
  return Int32Array.from({ length: dims.heads }, (_, h) => Math.floor(h / (dims.heads / dims.kvHeads)));
}

export function transformBlock(fp: BlockFp, dims: BlockDims, p: BlockParams): TransformedBlock {
  const c = (a: Float32Array, shape: number[]) => constant(a, shape);
  const { d, inter, heads, kvHeads, headDim } = dims;
  const qd = heads * headDim, kvd = kvHeads * headDim;
  const shapes: Record<LinearName, number[]> = { q: [qd, d], k: [kvd, d], v: [kvd, d], o: [d, qd], gate: [inter, d], up: [inter, d], down: [d, inter] };
  const w = Object.fromEntries(LINEAR_NAMES.map((n) => [n, c(fp.w[n], shapes[n])])) as Record<LinearName, Tensor>;
  const bias: Partial<Record<LinearName, Tensor>> = {};
  for (const n of LINEAR_NAMES) if (fp.bias[n]) bias[n] = c(fp.bias[n]!, [shapes[n][0]]);
  let inputNorm = c(fp.inputNorm, [d]);
  let postNorm = c(fp.postNorm, [d]);
  if (p.sQkv) {
    const s = exp(p.sQkv);
    inputNorm = mulRowVector(inputNorm, s, true);
    for (const n of ['q', 'k', 'v'] as const) w[n] = mulRowVector(w[n], s);
  }
  if (p.affineVo) {
    const a = p.affineMask ? mul(p.affineVo, constant(p.affineMask, p.affineVo.shape)) : p.affineVo;
    const inv = invertBlocks(a, headDim);
    w.v = leftBlocks(inv, w.v, headDim, true);
    if (bias.v) bias.v = reshape(leftBlocks(inv, reshape(bias.v, [kvd, 1]), headDim, true), [kvd]);
    w.o = rightBlocks(w.o, a, headDim, headToKv(dims), true);
  } else if (p.sVo) {
    const s = exp(p.sVo);
    const idx = voIndex(dims);
    if (p.shiftVo) {
      const vb = bias.v ?? c(new Float32Array(kvd), [kvd]);
      bias.v = sub(vb, p.shiftVo);
      // b_o' = b_o + W_o delta (with the original W_o, before its columns are scaled)
      const ob = reshape(linear(reshape(gather(p.shiftVo, idx), [1, qd]), w.o), [d]);
      bias.o = bias.o ? add(bias.o, ob) : ob;
    }
    w.v = mulColVector(w.v, s, true);
    if (bias.v) bias.v = mulRowVector(bias.v, s, true);
    w.o = mulRowVector(w.o, gather(s, idx));
  }
  if (p.sGu) {
    const s = exp(p.sGu);
    postNorm = mulRowVector(postNorm, s, true);
    for (const n of ['gate', 'up'] as const) w[n] = mulRowVector(w[n], s);
  }
  if (p.sUd) {
    const s = exp(p.sUd);
    w.up = mulColVector(w.up, s, true);
    w.down = mulRowVector(w.down, s);
  }
  if (p.lowRankL && p.lowRankRt) w.down = add(w.down, linear(p.lowRankL, p.lowRankRt));
  return { inputNorm, postNorm, w, bias };
}

/** Fake-quantized weights of a transformed block (LWC clip factors when the params have them). */
export function quantizeBlockWeights(tb: TransformedBlock, specs: BlockSpecs, p: BlockParams): Record<LinearName, Tensor> {
  const out = {} as Record<LinearName, Tensor>;
  for (const n of LINEAR_NAMES) {
    const lo = p.clipLo?.[n], hi = p.clipHi?.[n];
    out[n] = fakeQuantWeight(tb.w[n], toWeightSpec(specs[n]), lo && sigmoidOp(lo), hi && sigmoidOp(hi));
  }
  return out;
}

export interface BlockOutput { y: Tensor; probs: Tensor }

/**
 * Runs the block on one sequence x [T, d]. With `actSpecs`, each linear's input is fake-quantized
 * to its activation bits (per token / group); `weights` are the (already fake-quantized) matrices.
 */
export function blockForward(
  x: Tensor, tb: TransformedBlock, weights: Record<LinearName, Tensor>, dims: BlockDims, table: RopeTable, actSpecs?: BlockSpecs,
  capture?: (n: LinearName, input: Tensor) => void,
): BlockOutput {
  const act = (n: LinearName, input: Tensor) => {
    capture?.(n, input);
    return actSpecs ? fakeQuantAct(input, actSpecs[n].abits, actSpecs[n].actGroup) : input;
  };
  const lin = (n: LinearName, input: Tensor) => linear(act(n, input), weights[n], tb.bias[n]);
  const shape = { heads: dims.heads, kvHeads: dims.kvHeads, headDim: dims.headDim };
  const n1 = rmsNorm(x, tb.inputNorm, dims.eps);
  const q = rope(lin('q', n1), table, dims.heads);
  const k = rope(lin('k', n1), table, dims.kvHeads);
  const v = lin('v', n1);
  const probs = attentionProbs(q, k, shape);
  const h = add(x, lin('o', attentionApply(probs, v, shape)));
  const n2 = rmsNorm(h, tb.postNorm, dims.eps);
  const m = swiglu(lin('gate', n2), lin('up', n2));
  return { y: add(h, lin('down', m)), probs };
}


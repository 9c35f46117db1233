/**
 * Folding: the learned transformations become plain weights (norm weights, v_proj rows and bias,
 * o_proj columns and bias, up_proj rows, down_proj columns), and the LWC logits become clip factors
 * in (0, 1], so the packer sees an ordinary model plus per-group clip factors and nothing costs
 * anything at run time. The folded full-precision block computes exactly what the original did
 * (up to f32 rounding), except for ABQ's low-rank term, which deliberately changes down_proj.
 */
import { sigmoid } from './autograd/index.ts';
import { transformBlock, type BlockDims, type BlockFp, type BlockParams, type BlockSpecs } from './block.ts';
import { cloneParams } from './params.ts';
import { LINEAR_NAMES, type LayerQuantSpec } from './quant-config.ts';
import type { LinearName } from '../model/llama.ts';

export interface FoldedLinear {
  /** Transformed full-precision weight [n, k]. */
  weight: Float32Array;
  n: number;
  k: number;
  bias?: Float32Array;
  /** LWC clip factors [n, groups], or undefined (no clipping). */
  clipLo?: Float32Array;
  clipHi?: Float32Array;
  spec: LayerQuantSpec;
}

export interface FoldedBlock {
  inputNorm: Float32Array;
  postNorm: Float32Array;
  linears: Record<LinearName, FoldedLinear>;
}

function sigmoidArray(a: Float32Array): Float32Array {
  return a.map((v) => sigmoid(v));
}

export function foldBlock(fp: BlockFp, dims: BlockDims, specs: BlockSpecs, params: BlockParams): FoldedBlock {
  const frozen = cloneParams(params);
  const tb = transformBlock(fp, dims, frozen);
  const linears = {} as Record<LinearName, FoldedLinear>;
  for (const n of LINEAR_NAMES) {
    const [rows, k] = tb.w[n].shape;
    const lo = params.clipLo?.[n], hi = params.clipHi?.[n];
    linears[n] = {
      weight: tb.w[n].data, n: rows, k, bias: tb.bias[n]?.data, spec: specs[n],
      clipLo: lo ? sigmoidArray(lo.data) : undefined,
      // A symmetric grid has one range: its single factor scales both ends.
      clipHi: hi ? sigmoidArray(hi.data) : undefined,
    };
    if (specs[n].symmetric && linears[n].clipHi && !linears[n].clipLo) linears[n].clipLo = linears[n].clipHi;
  }
  return { inputNorm: tb.inputNorm.data, postNorm: tb.postNorm.data, linears };
}

/** Small synthetic blocks for fast tests. */
import { Rng } from '../../../shared/util/rng.ts';
import type { BlockDims, BlockFp } from '../../../shared/quant/block.ts';
import { ropeTable, type RopeTable } from '../../../shared/quant/autograd/index.ts';

export const DIMS: BlockDims = { d: 16, inter: 24, heads: 4, kvHeads: 2, headDim: 4, eps: 1e-5 };
export const SEQ = 6;

export function randomBlock(seed: number, dims = DIMS): BlockFp {
  const rng = new Rng(seed);
  const { d, inter, heads, kvHeads, headDim } = dims;
  const m = (n: number, k: number) => rng.fillNormal(new Float32Array(n * k), 1 / Math.sqrt(k));
  const norm = () => Float32Array.from({ length: d }, () => 0.5 + rng.next());
  return {
    inputNorm: norm(), postNorm: norm(),
    w: { q: m(heads * headDim, d), k: m(kvHeads * headDim, d), v: m(kvHeads * headDim, d), o: m(d, heads * headDim), gate: m(inter, d), up: m(inter, d), down: m(d, inter) },
    bias: {},
  };
}

export function randomInput(seed: number, t = SEQ, d = DIMS.d): Float32Array {
  const x = new Rng(seed).fillNormal(new Float32Array(t * d));
  // A few outlier channels, as real activations have (what LET exists for).
  for (let i = 0; i < t; i++) { x[i * d + 3] *= 8; x[i * d + 11] *= 5; }
  return x;
}

export function table(t = SEQ, hd = DIMS.headDim): RopeTable {
  return ropeTable(t, hd, 10000);
}

import { describe, expect, it } from 'vitest';
import { constant, param } from '../../../shared/quant/autograd/index.ts';
import { blockForward, transformBlock, quantizeBlockWeights, type BlockSpecs } from '../../../shared/quant/block.ts';
import { foldBlock } from '../../../shared/quant/fold.ts';
import { LINEAR_NAMES, layerSpec, DEFAULT_SETTINGS } from '../../../shared/quant/quant-config.ts';
import { parseLlamaConfig } from '../../../shared/model/config.ts';
import { LlamaModel } from '../../../shared/model/llama.ts';
import { DenseLinear } from '../../../shared/model/linear.ts';
import { Rng } from '../../../shared/util/rng.ts';
import { DIMS, SEQ, randomBlock, randomInput, table } from './fixtures.ts';
import type { BlockParams } from '../../../shared/quant/block.ts';

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function identityWeights(tb: ReturnType<typeof transformBlock>) {
  return tb.w;
}

describe('differentiable block', () => {
  const fp = randomBlock(1);
  const x = randomInput(2);
  it('matches the reference LlamaModel block forward in full precision', () => {
    const { d, inter, heads, kvHeads, headDim } = DIMS;
    const config = parseLlamaConfig({
      model_type: 'llama', vocab_size: 8, hidden_size: d, intermediate_size: inter, num_hidden_layers: 1,
      num_attention_heads: heads, num_key_value_heads: kvHeads, rms_norm_eps: DIMS.eps, max_position_embeddings: 64, hidden_act: 'silu', tie_word_embeddings: true,
    });
    const lin = (w: Float32Array, n: number, k: number) => new DenseLinear(w, n, k);
    const model = new LlamaModel(config, {
      embed: new Float32Array(8 * d), norm: new Float32Array(d).fill(1), lmHead: lin(new Float32Array(8 * d), 8, d),
      layers: [{ inputNorm: fp.inputNorm, postNorm: fp.postNorm, q: lin(fp.w.q, heads * headDim, d), k: lin(fp.w.k, kvHeads * headDim, d), v: lin(fp.w.v, kvHeads * headDim, d), o: lin(fp.w.o, d, heads * headDim), gate: lin(fp.w.gate, inter, d), up: lin(fp.w.up, inter, d), down: lin(fp.w.down, d, inter) }],
    });
    const ref = model.blockForward(0, x, Array.from({ length: SEQ }, (_, i) => i));
    const tb = transformBlock(fp, DIMS, {});
    const ours = blockForward(constant(x, [SEQ, d]), tb, identityWeights(tb), DIMS, table()).y.data;
    expect(maxDiff(ours, ref)).toBeLessThan(1e-5);
  });

  it('folded LET scales, v->o shift and AffineQuant matrices leave the full-precision block unchanged', () => {
    const rng = new Rng(3);
    const r = (n: number, std: number) => param(rng.fillNormal(new Float32Array(n), std), [n]);
    const kvd = DIMS.kvHeads * DIMS.headDim;
    const base = blockForward(constant(x, [SEQ, DIMS.d]), transformBlock(fp, DIMS, {}), transformBlock(fp, DIMS, {}).w, DIMS, table()).y.data;
    const diag: BlockParams = { sQkv: r(DIMS.d, 0.5), sGu: r(DIMS.d, 0.5), sUd: r(DIMS.inter, 0.5), sVo: r(kvd, 0.5), shiftVo: r(kvd, 0.3) };
    const a = new Float32Array(DIMS.kvHeads * 16);
    for (let i = 0; i < a.length; i++) a[i] = (i % 5 === 0 ? 1.5 : 0) + 0.2 * rng.normal();
    const affine: BlockParams = { ...diag, sVo: undefined, shiftVo: undefined, affineVo: param(a, [DIMS.kvHeads, 4, 4]) };
    for (const p of [diag, affine]) {
      const specs = Object.fromEntries(LINEAR_NAMES.map((n) => [n, layerSpec(DEFAULT_SETTINGS, n, 16)])) as BlockSpecs;
      const folded = foldBlock(fp, DIMS, specs, p);
      const tb = transformBlock({ inputNorm: folded.inputNorm, postNorm: folded.postNorm, w: Object.fromEntries(LINEAR_NAMES.map((n) => [n, folded.linears[n].weight])) as never, bias: Object.fromEntries(LINEAR_NAMES.filter((n) => folded.linears[n].bias).map((n) => [n, folded.linears[n].bias])) }, DIMS, {});
      const y = blockForward(constant(x, [SEQ, DIMS.d]), tb, tb.w, DIMS, table()).y.data;
      expect(maxDiff(y, base)).toBeLessThan(2e-4);
    }
  });

  it('quantized block weights differ from full precision and gradients reach the LET and LWC params', () => {
    const specs = Object.fromEntries(LINEAR_NAMES.map((n) => [n, layerSpec({ ...DEFAULT_SETTINGS, w: 3, a: 4 }, n, 16)])) as BlockSpecs;
    const p: BlockParams = { sQkv: param(new Float32Array(DIMS.d), [DIMS.d]), clipHi: { q: param(new Float32Array(16).fill(2), [16, 1]) } };
    const tb = transformBlock(fp, DIMS, p);
    const w = quantizeBlockWeights(tb, specs, p);
    expect(maxDiff(w.q.data, tb.w.q.data)).toBeGreaterThan(0);
    const out = blockForward(constant(x, [SEQ, DIMS.d]), tb, w, DIMS, table(), specs);
    expect(out.y.requiresGrad).toBe(true);
  });
});

/**
 * Turns a loaded packed model (shared/quant/load-packed.ts: the reference integer path's LlamaModel,
 * read and validated by shared/format) into the description the CUDA engine uploads. Reusing the
 * reference's loader keeps one reading of the format (tensor names, tied lm_head, folded norms).
 *
 * Per linear: a packed layer with quantized activations goes to the BTC kernels as bit planes. A
 * weight-only (A16) layer goes to the fp16 dequant kernels when they take its group (K or a multiple of
 * 64) and the layer is large enough to matter (K >= A16_PACKED_MIN_K); smaller ones (stories260K) are
 * dequantized here to exactly the reference's f32 weights and run dense, so tokens match the reference.
 */
import type { LlamaConfig } from '../../shared/model/config.ts';
import { DenseLinear, type Linear } from '../../shared/model/linear.ts';
import type { LlamaModel } from '../../shared/model/llama.ts';
import { ropeInvFreqFor } from '../../shared/model/rope.ts';
import { A16, PackedLinearRef } from '../../shared/numerics/packed-linear-ref.ts';
import { dequantizeWeightsRef } from '../../shared/numerics/weight-quant.ts';
import { unpackBitPlanes } from '../../shared/format/bitplanes.ts';
import type { NativeEngineLinear, NativeEngineModel } from './native.ts';

/** Smallest K for which weight-only layers use the packed fp16 kernels rather than exact f32. */
export const A16_PACKED_MIN_K = 1024;
/** The A16 kernels' K permutation unit (gpu-node/csrc/a16-gemm.cu): groups must be K or a multiple. */
const A16_GROUP_UNIT = 64;

function a16Packed(k: number, groupSize: number): boolean {
  const g = groupSize <= 0 || groupSize >= k ? k : groupSize;
  return k >= A16_PACKED_MIN_K && (g === k || g % A16_GROUP_UNIT === 0);
}

/** The engine's view of one reference linear layer. */
export function engineLinear(linear: Linear, what: string): NativeEngineLinear {
  if (linear instanceof PackedLinearRef) {
    const w = linear.weights;
    const bias = w.bias ?? null;
    if (linear.act.bits === A16 && !a16Packed(w.k, w.groupSize)) {
      const dense = dequantizeWeightsRef({
        n: w.n, k: w.k, bits: w.bits, groupSize: w.groupSize,
        codes: unpackBitPlanes(w.planes, w.n, w.k, w.bits), scales: w.scales, zeros: w.zeros,
      });
      return { kind: 'f32', n: w.n, k: w.k, dense, bias };
    }
    return {
      kind: 'packed', n: w.n, k: w.k, wbits: w.bits, groupSize: w.groupSize, abits: linear.act.bits,
      actGroup: linear.act.groupSize, planes: w.planes, scales: w.scales, zeros: w.zeros, bias,
    };
  }
  if (linear instanceof DenseLinear) {
    return { kind: 'f32', n: linear.outFeatures, k: linear.inFeatures, dense: linear.weight, bias: linear.bias ?? null };
  }
  throw new Error(`${what}: the CUDA engine takes packed or dense layers, got ${linear.constructor.name}`);
}

/** Refuses what the engine does not implement, naming the fix. */
export function checkEngineConfig(c: LlamaConfig): void {
  if (c.slidingWindow !== undefined) throw new Error(`the CUDA engine has no sliding-window attention (sliding_window ${c.slidingWindow}); use --backend wasm`);
  if (c.headDim > 128 || c.headDim % 2 !== 0) throw new Error(`the CUDA engine needs an even head_dim <= 128, got ${c.headDim}`);
  if (c.numHeads % c.numKvHeads !== 0) throw new Error(`num_attention_heads ${c.numHeads} is not a multiple of num_key_value_heads ${c.numKvHeads}`);
}

export function engineModelFrom(config: LlamaConfig, model: LlamaModel, description: string): NativeEngineModel {
  checkEngineConfig(config);
  const w = model.weights;
  return {
    config: {
      dim: config.hiddenSize, layers: config.numLayers, heads: config.numHeads, kvHeads: config.numKvHeads,
      headDim: config.headDim, ffn: config.intermediateSize, vocab: config.vocabSize, rmsEps: config.rmsNormEps,
      contextLength: config.maxPositionEmbeddings,
    },
    invFreq: ropeInvFreqFor(config),
    embed: w.embed,
    finalNorm: w.norm,
    layers: w.layers.map((L, l) => ({
      inputNorm: L.inputNorm,
      postNorm: L.postNorm,
      q: engineLinear(L.q, `layer ${l} q`), k: engineLinear(L.k, `layer ${l} k`), v: engineLinear(L.v, `layer ${l} v`),
      o: engineLinear(L.o, `layer ${l} o`), gate: engineLinear(L.gate, `layer ${l} gate`),
      up: engineLinear(L.up, `layer ${l} up`), down: engineLinear(L.down, `layer ${l} down`),
    })),
    lmHead: engineLinear(w.lmHead, 'lm_head'),
    description,
  };
}

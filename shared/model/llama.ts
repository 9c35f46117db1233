/**
 * The reference LLaMA-family forward pass (LLaMA 1/2/3, Mistral, Qwen2): f32 weights and
 * activations, f64 sums. It is the oracle for every kernel and the model the quantizer calibrates
 * with, so it favours exactness and plain code; speed comes from the blocked matmul in linear.ts.
 *
 * One decoder block: h = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1)))  with n1 = rmsNorm(x, inputNorm)
 *                    y = h + down(silu(gate(n2)) * up(n2))              with n2 = rmsNorm(h, postNorm)
 */
import type { LlamaConfig } from './config.ts';
import type { Linear } from './linear.ts';
import { KvCache } from './kv-cache.ts';
import { rmsNorm } from './norm.ts';
import { applyRope, ropeAngles, ropeInvFreqFor, type RopeAngles } from './rope.ts';
import { attention, type AttentionShape } from './attention.ts';
import { mlpForward } from './mlp.ts';

export interface LayerWeights {
  inputNorm: Float32Array;
  postNorm: Float32Array;
  q: Linear; k: Linear; v: Linear; o: Linear;
  gate: Linear; up: Linear; down: Linear;
}

export interface LlamaWeights {
  /** [vocab][hidden] */
  embed: Float32Array;
  layers: LayerWeights[];
  norm: Float32Array;
  lmHead: Linear;
}

export type LinearName = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';

/** Sees the activations of a forward pass (calibration). Arrays handed out are never mutated later. */
export interface ForwardObserver {
  blockInput?(layer: number, hidden: Float32Array, n: number): void;
  blockOutput?(layer: number, hidden: Float32Array, n: number): void;
  /** Input of one linear layer ([m][inFeatures]); q, k and v share one input, as do gate and up. */
  linearInput?(layer: number, name: LinearName, x: Float32Array, m: number): void;
}

export interface ForwardOptions {
  /** Return logits for every input position ([n][vocab]), e.g. for perplexity; default: last row only. */
  allLogits?: boolean;
  observer?: ForwardObserver;
}

export class LlamaModel {
  private readonly invFreq: Float64Array;
  private readonly attnShape: AttentionShape;

  constructor(readonly config: LlamaConfig, readonly weights: LlamaWeights) {
    checkWeights(config, weights);
    this.invFreq = ropeInvFreqFor(config);
    this.attnShape = { heads: config.numHeads, kvHeads: config.numKvHeads, headDim: config.headDim, slidingWindow: config.slidingWindow };
  }

  /**
   * Replaces one linear layer (e.g. by a fake-quantized or packed one during calibration); the
   * shape must match. Returns the previous layer so it can be restored.
   */
  setLinear(layer: number, name: LinearName, linear: Linear): Linear {
    const L = this.weights.layers[layer];
    if (!L) throw new Error(`setLinear: layer ${layer} is outside 0..${this.config.numLayers - 1}`);
    const old = L[name];
    if (linear.inFeatures !== old.inFeatures || linear.outFeatures !== old.outFeatures) {
      throw new Error(`setLinear: layer ${layer} ${name} is ${old.outFeatures}x${old.inFeatures}, the replacement is ${linear.outFeatures}x${linear.inFeatures}`);
    }
    L[name] = linear;
    return old;
  }

  /** A KV cache for one sequence; maxSeq defaults to max_position_embeddings (storage grows on demand). */
  newCache(maxSeq = this.config.maxPositionEmbeddings): KvCache {
    return new KvCache(this.config.numLayers, this.config.numKvHeads, this.config.headDim, maxSeq);
  }

  /**
   * Runs `tokens` at positions cache.length.. and appends them to the cache. Prefilling n tokens at
   * once and decoding them one at a time give bit-identical logits: every output is summed in the
   * same order on both paths (the matmul kernels and attention are written so; tested).
   */
  forward(tokens: ArrayLike<number>, cache: KvCache, opts: ForwardOptions = {}): Float32Array {
    const n = tokens.length;
    if (n === 0) throw new Error('LlamaModel.forward: no tokens given');
    cache.reserve(n);
    const pos0 = cache.length;
    const angles = ropeAngles(this.invFreq, Array.from({ length: n }, (_, t) => pos0 + t));
    let hidden = this.embed(tokens);
    for (let l = 0; l < this.config.numLayers; l++) {
      hidden = this.runBlock(l, hidden, n, angles, cache.keys[l], cache.values[l], pos0, opts.observer);
    }
    cache.length = pos0 + n;
    return this.head(hidden, n, opts.allLogits ?? false);
  }

  /** Embedding rows of `tokens`: [n][hidden]. */
  embed(tokens: ArrayLike<number>): Float32Array {
    const { hiddenSize: d, vocabSize } = this.config;
    const out = new Float32Array(tokens.length * d);
    for (let t = 0; t < tokens.length; t++) {
      const id = tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`token id ${id} at index ${t} is outside the vocabulary 0..${vocabSize - 1}`);
      out.set(this.weights.embed.subarray(id * d, (id + 1) * d), t * d);
    }
    return out;
  }

  /** Final norm and lm_head: hidden [n][hidden] -> logits [n][vocab], or only the last row's [vocab]. */
  head(hidden: Float32Array, n: number, allLogits = false): Float32Array {
    const d = this.config.hiddenSize;
    const rows = allLogits ? n : 1;
    const src = allLogits ? hidden : hidden.subarray((n - 1) * d, n * d);
    return this.weights.lmHead.forward(rmsNorm(src, rows, d, this.weights.norm, this.config.rmsNormEps), rows);
  }

  /**
   * One decoder block alone, for block-wise calibration: hidden [n][hidden] of tokens at `positions`
   * (RoPE angles), attending causally among themselves only (no cache). Returns the block's output.
   */
  blockForward(layer: number, hidden: Float32Array, positions: ArrayLike<number>, observer?: ForwardObserver): Float32Array {
    if (layer < 0 || layer >= this.config.numLayers) throw new Error(`blockForward: layer ${layer} is outside 0..${this.config.numLayers - 1}`);
    const n = positions.length;
    if (hidden.length !== n * this.config.hiddenSize) throw new Error(`blockForward: hidden has ${hidden.length} elements, expected ${n}x${this.config.hiddenSize}`);
    const row = this.config.numKvHeads * this.config.headDim;
    const angles = ropeAngles(this.invFreq, positions);
    return this.runBlock(layer, hidden, n, angles, new Float32Array(n * row), new Float32Array(n * row), 0, observer);
  }

  /** Writes k/v of the n tokens into slots slot0.. of keys/values, then attends over slots 0..slot0+t. */
  private runBlock(l: number, x: Float32Array, n: number, angles: RopeAngles, keys: Float32Array, values: Float32Array, slot0: number, obs?: ForwardObserver): Float32Array {
    const c = this.config;
    const w = this.weights.layers[l];
    obs?.blockInput?.(l, x, n);
    const n1 = rmsNorm(x, n, c.hiddenSize, w.inputNorm, c.rmsNormEps);
    if (obs?.linearInput) for (const name of ['q', 'k', 'v'] as const) obs.linearInput(l, name, n1, n);
    const q = w.q.forward(n1, n);
    const k = w.k.forward(n1, n);
    const v = w.v.forward(n1, n);
    applyRope(q, n, c.numHeads, c.headDim, angles);
    applyRope(k, n, c.numKvHeads, c.headDim, angles);
    const row = c.numKvHeads * c.headDim;
    keys.set(k, slot0 * row);
    values.set(v, slot0 * row);
    const att = attention(q, n, slot0, keys, values, this.attnShape);
    obs?.linearInput?.(l, 'o', att, n);
    const h = w.o.forward(att, n);
    for (let i = 0; i < h.length; i++) h[i] += x[i];
    const n2 = rmsNorm(h, n, c.hiddenSize, w.postNorm, c.rmsNormEps);
    const onMlpInput = obs?.linearInput ? (name: 'gate' | 'up' | 'down', a: Float32Array, m: number) => obs.linearInput!(l, name, a, m) : undefined;
    const y = mlpForward(n2, n, w.gate, w.up, w.down, onMlpInput);
    for (let i = 0; i < y.length; i++) y[i] += h[i];
    obs?.blockOutput?.(l, y, n);
    return y;
  }
}

/** Inputs and outputs of every block for a token sequence (from position 0), for block-wise calibration. */
export function captureBlockIO(model: LlamaModel, tokens: ArrayLike<number>): { inputs: Float32Array[]; outputs: Float32Array[]; logits: Float32Array } {
  const inputs: Float32Array[] = [];
  const outputs: Float32Array[] = [];
  const logits = model.forward(tokens, model.newCache(Math.max(tokens.length, 1)), {
    allLogits: true,
    observer: { blockInput: (l, h) => { inputs[l] = h; }, blockOutput: (l, h) => { outputs[l] = h; } },
  });
  return { inputs, outputs, logits };
}

function checkWeights(c: LlamaConfig, w: LlamaWeights): void {
  const expect = (what: string, got: number, want: number): void => {
    if (got !== want) throw new Error(`LlamaModel: ${what} is ${got}, the config requires ${want}`);
  };
  expect('embed length', w.embed.length, c.vocabSize * c.hiddenSize);
  expect('number of layers', w.layers.length, c.numLayers);
  expect('norm length', w.norm.length, c.hiddenSize);
  expect('lm_head inFeatures', w.lmHead.inFeatures, c.hiddenSize);
  expect('lm_head outFeatures', w.lmHead.outFeatures, c.vocabSize);
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const dims: Record<LinearName, [number, number]> = {
    q: [c.hiddenSize, qDim], k: [c.hiddenSize, kvDim], v: [c.hiddenSize, kvDim], o: [qDim, c.hiddenSize],
    gate: [c.hiddenSize, c.intermediateSize], up: [c.hiddenSize, c.intermediateSize], down: [c.intermediateSize, c.hiddenSize],
  };
  w.layers.forEach((layer, l) => {
    expect(`layer ${l} input norm length`, layer.inputNorm.length, c.hiddenSize);
    expect(`layer ${l} post-attention norm length`, layer.postNorm.length, c.hiddenSize);
    for (const [name, [inF, outF]] of Object.entries(dims) as [LinearName, [number, number]][]) {
      expect(`layer ${l} ${name} inFeatures`, layer[name].inFeatures, inF);
      expect(`layer ${l} ${name} outFeatures`, layer[name].outFeatures, outF);
    }
  });
}

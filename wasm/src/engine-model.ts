/**
 * Loads a model into one WebAssembly.Memory: sizes the memory from the model, instantiates the
 * kernels, repacks each quantized linear into its path's layout, and allocates the activation
 * buffers and the KV cache. Runtime-free; forward passes live in engine.ts.
 */
import { parseLlamaConfig, type LlamaConfig } from '../../shared/model/config.ts';
import { ropeAngles, ropeInvFreqFor } from '../../shared/model/rope.ts';
import { Arena } from './arena.ts';
import { DenseLinearWasm } from './dense-linear.ts';
import { instantiateKernels, simdSupported, type KernelExports, type KernelFlavor, type Kernels, type KernelSource } from './kernels.ts';
import type { ParallelRunner } from './parallel.ts';
import type { PackedModelSource } from './model-source.ts';
import { choosePath, type IntPath } from './path-choice.ts';
import { QuantLinear } from './quant-linear.ts';
import { allocWorkspace, workspaceBytes, type Workspace } from './workspace.ts';
import { packBitPlanes } from '../../shared/format/bitplanes.ts';
import { quantizeWeightsRef } from '../../shared/numerics/weight-quant.ts';

/** Tokens per forward pass of prefill (longer prompts run in chunks of this many). */
export const DEFAULT_MAX_BATCH = 64;
const LINEARS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
type LinearKey = (typeof LINEARS)[number];

export interface EngineLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weightBytes: number;
  forward(xPtr: number, m: number, outPtr: number): void;
}

export interface EngineOptions {
  model: PackedModelSource;
  /** Kernel builds (compiled modules or bytes); the SIMD one is used where the runtime validates SIMD. */
  kernels: { simd?: KernelSource; scalar?: KernelSource };
  /** Force a build (tests of the scalar twins). */
  flavor?: KernelFlavor;
  /** KV cache length; default max_position_embeddings. */
  maxSeq?: number;
  maxBatch?: number;
  /** Force one integer path for every quantized layer (benchmarks); default: the measured table. */
  pathOverride?: IntPath;
  /**
   * Quantize a float lm_head (or the tied embedding used as one) at load, per channel by RTN, e.g.
   * { wbits: 8, abits: 8 }. Off by default: the reference keeps the head in f32, and with it on the
   * logits differ slightly from the reference's. On small-vocabulary-heavy models (stories15M/110M:
   * 32000 x hidden) the f32 head is most of the bytes read per decoded token.
   */
  quantizeLmHead?: { wbits: number; abits: number };
  /**
   * Starts threads sharing the engine's memory (Node: thread-pool.ts via node.ts). With it the memory
   * is shared, so `kernels.simd` must be the shared-memory build (kernels-simd-mt.wasm).
   */
  parallel?: (module: WebAssembly.Module, memory: WebAssembly.Memory, local: KernelExports) => Promise<ParallelRunner>;
}

export interface LayerBuffers { inputNorm: number; postNorm: number; lin: Record<LinearKey, EngineLinear>; k: number; v: number }

export interface LoadedModel {
  config: LlamaConfig;
  kernels: Kernels;
  arena: Arena;
  ws: Workspace;
  layers: LayerBuffers[];
  embed: number;
  norm: number;
  lmHead: EngineLinear;
  maxSeq: number;
  maxBatch: number;
  cos: number;
  sin: number;
  /** Activation buffers, each [maxBatch][width]. */
  buf: Record<'hidden' | 'normed' | 'q' | 'k' | 'v' | 'att' | 'proj' | 'gate' | 'up' | 'logits' | 'tokens' | 'scores', number>;
  weightBytes: number;
  parallel?: ParallelRunner;
}

function moduleName(l: number, key: LinearKey): string {
  return key === 'gate' || key === 'up' || key === 'down' ? `model.layers.${l}.mlp.${key}_proj` : `model.layers.${l}.self_attn.${key}_proj`;
}

function requireFloat(src: PackedModelSource, name: string, size: number): Float32Array {
  const t = src.float(name);
  if (!t) throw new Error(`the model has no tensor '${name}'`);
  if (t.length !== size) throw new Error(`tensor '${name}' has ${t.length} values, the config requires ${size}`);
  return t;
}

/** An upper bound of the bytes the model needs, so the memory is created once at the right size. */
function estimateBytes(src: PackedModelSource, c: LlamaConfig, maxSeq: number, maxBatch: number, wsBytes: number): number {
  let bytes = (c.vocabSize * c.hiddenSize + (2 * c.numLayers + 1) * c.hiddenSize) * 4;
  let largestPlanes = 0;
  for (let l = 0; l < c.numLayers; l++) {
    for (const key of LINEARS) {
      const q = src.linear(moduleName(l, key));
      const w = q?.weights;
      if (w) {
        const planes = w.bits * w.n * Math.ceil(w.k / 32) * 4;
        largestPlanes = Math.max(largestPlanes, planes + Math.ceil(w.k / 32) * 32 + 64);
        const lutBytes = Math.ceil(w.n / 16) * 16 * Math.ceil(w.k / 16) * 2 * w.bits;
        bytes += Math.max(planes * 2, lutBytes, w.n * Math.ceil(w.k / 64) * 64) + Math.ceil(w.k / w.groupSize) * (w.n + 4) * 12 + 64 * 4;
      } else {
        const f = src.float(`${moduleName(l, key)}.weight`);
        bytes += (f?.length ?? 0) * 4;
      }
    }
  }
  if (!c.tieWordEmbeddings) bytes += c.vocabSize * c.hiddenSize * 4;
  const widths = 4 * c.hiddenSize + 3 * c.numHeads * c.headDim + 2 * c.numKvHeads * c.headDim + 2 * c.intermediateSize + c.vocabSize + 1;
  bytes += maxBatch * widths * 4 + (maxSeq + c.headDim) * 8 + 2 * c.numLayers * maxSeq * c.numKvHeads * c.headDim * 4 + maxSeq * c.headDim * 4;
  return bytes + wsBytes + largestPlanes + (1 << 20);
}

export async function loadModel(opts: EngineOptions): Promise<LoadedModel> {
  const src = opts.model;
  const c = parseLlamaConfig(src.config);
  if (c.slidingWindow !== undefined) throw new Error('the WASM engine does not implement sliding-window attention (Mistral sliding_window): use the reference engine');
  const maxSeq = opts.maxSeq ?? c.maxPositionEmbeddings;
  const maxBatch = opts.maxBatch ?? DEFAULT_MAX_BATCH;
  const flavor = opts.flavor ?? (opts.kernels.simd && simdSupported() ? 'simd' : 'scalar');
  const kernelSource = opts.kernels[flavor];
  if (!kernelSource) throw new Error(`no ${flavor} kernel build was given: pass kernels.${flavor} (wasm/build/kernels-${flavor}.wasm)`);
  const d = c.hiddenSize, qDim = c.numHeads * c.headDim, kvDim = c.numKvHeads * c.headDim;
  const wsNeeds = { maxM: maxBatch, maxK: Math.max(d, qDim, c.intermediateSize), maxAccPerRow: 0, maxGroups: 1 };
  for (let l = 0; l < c.numLayers; l++) {
    for (const key of LINEARS) {
      const w = src.linear(moduleName(l, key))?.weights;
      if (!w) continue;
      const groups = Math.ceil(w.k / (w.groupSize <= 0 ? w.k : w.groupSize));
      wsNeeds.maxGroups = Math.max(wsNeeds.maxGroups, groups);
      wsNeeds.maxAccPerRow = Math.max(wsNeeds.maxAccPerRow, groups * Math.ceil(w.n / 4) * 4);
    }
  }
  if (opts.quantizeLmHead) wsNeeds.maxAccPerRow = Math.max(wsNeeds.maxAccPerRow, Math.ceil(c.vocabSize / 4) * 4);
  const memory = Arena.createMemory(estimateBytes(src, c, maxSeq, maxBatch, workspaceBytes(wsNeeds)), opts.parallel !== undefined);
  const module = kernelSource instanceof WebAssembly.Module ? kernelSource : await WebAssembly.compile(kernelSource);
  let kernels: Kernels;
  try {
    kernels = await instantiateKernels(module, flavor, memory);
  } catch (e) {
    if (opts.parallel) throw new Error(`the kernel build does not import a shared memory: with threads, pass kernels-simd-mt.wasm (${(e as Error).message})`);
    throw e;
  }
  const parallel = opts.parallel ? await opts.parallel(module, memory, kernels.exports) : undefined;
  const arena = new Arena(memory, kernels.exports.heapBase());
  const ws = allocWorkspace(arena, wsNeeds);
  let weightBytes = 0;
  const makeLinear = (name: string, outF: number, inF: number): EngineLinear => {
    const q = src.linear(name);
    let lin: EngineLinear;
    if (q) {
      if (q.weights.n !== outF || q.weights.k !== inF) throw new Error(`linear '${name}' is ${q.weights.n}x${q.weights.k}, the config requires ${outF}x${inF}`);
      const path = opts.pathOverride ?? choosePath(q.weights.bits, q.abits, outF, inF, 1);
      const ql = new QuantLinear(kernels, arena, { weights: q.weights, actBits: q.abits, actGroupSize: q.actGroupSize, path, parallel });
      lin = { inFeatures: inF, outFeatures: outF, weightBytes: ql.weightBytes, forward: (x, m, out) => ql.forward(x, m, out, ws) };
    } else {
      lin = new DenseLinearWasm(kernels, arena, outF, inF, requireFloat(src, `${name}.weight`, outF * inF), src.float(`${name}.bias`), parallel);
    }
    weightBytes += lin.weightBytes;
    return lin;
  };
  const embed = arena.put(requireFloat(src, 'model.embed_tokens.weight', c.vocabSize * d));
  const dims: Record<LinearKey, [number, number]> = {
    q: [qDim, d], k: [kvDim, d], v: [kvDim, d], o: [d, qDim], gate: [c.intermediateSize, d], up: [c.intermediateSize, d], down: [d, c.intermediateSize],
  };
  const layers: LayerBuffers[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const lin = {} as Record<LinearKey, EngineLinear>;
    for (const key of LINEARS) lin[key] = makeLinear(moduleName(l, key), dims[key][0], dims[key][1]);
    layers.push({
      inputNorm: arena.put(requireFloat(src, `model.layers.${l}.input_layernorm.weight`, d)),
      postNorm: arena.put(requireFloat(src, `model.layers.${l}.post_attention_layernorm.weight`, d)),
      lin,
      k: arena.alloc(maxSeq * kvDim * 4),
      v: arena.alloc(maxSeq * kvDim * 4),
    });
  }
  const norm = arena.put(requireFloat(src, 'model.norm.weight', d));
  const headIsQuantized = src.linear('lm_head') !== undefined;
  // Tied models use the embedding rows as lm_head (as transformers does), unless the head is quantized.
  const shareEmbedding = c.tieWordEmbeddings && !headIsQuantized;
  let lmHead: EngineLinear;
  if (opts.quantizeLmHead && !headIsQuantized) {
    const head = c.tieWordEmbeddings ? arena.f32(embed, c.vocabSize * d).slice() : requireFloat(src, 'lm_head.weight', c.vocabSize * d);
    const { wbits, abits } = opts.quantizeLmHead;
    const q = quantizeWeightsRef(head, c.vocabSize, d, { bits: wbits, groupSize: 0, symmetric: false });
    const weights = { n: c.vocabSize, k: d, bits: wbits, groupSize: d, planes: packBitPlanes(q.codes, c.vocabSize, d, wbits), scales: q.scales, zeros: q.zeros };
    const ql = new QuantLinear(kernels, arena, { weights, actBits: abits, actGroupSize: 0, path: opts.pathOverride ?? choosePath(wbits, abits, c.vocabSize, d, 1), parallel });
    lmHead = { inFeatures: d, outFeatures: c.vocabSize, weightBytes: ql.weightBytes, forward: (x, m, out) => ql.forward(x, m, out, ws) };
    weightBytes += ql.weightBytes;
  } else {
    lmHead = shareEmbedding ? new DenseLinearWasm(kernels, arena, c.vocabSize, d, embed, undefined, parallel) : makeLinear('lm_head', c.vocabSize, d);
    if (shareEmbedding) weightBytes += lmHead.weightBytes;
  }
  const angles = ropeAngles(ropeInvFreqFor(c), Array.from({ length: maxSeq }, (_, t) => t));
  const cos = arena.put(angles.cos), sin = arena.put(angles.sin);
  const B = maxBatch;
  const buf = {
    hidden: arena.alloc(B * d * 4), normed: arena.alloc(B * d * 4), q: arena.alloc(B * qDim * 4), k: arena.alloc(B * kvDim * 4),
    v: arena.alloc(B * kvDim * 4), att: arena.alloc(B * qDim * 4), proj: arena.alloc(B * d * 4),
    gate: arena.alloc(B * c.intermediateSize * 4), up: arena.alloc(B * c.intermediateSize * 4),
    logits: arena.alloc(B * c.vocabSize * 4), tokens: arena.alloc(B * 4), scores: arena.alloc((maxSeq + c.headDim) * 8),
  };
  return { config: c, kernels, arena, ws, layers, embed, norm, lmHead, maxSeq, maxBatch, cos, sin, buf, weightBytes, parallel };
}

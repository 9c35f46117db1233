/**
 * Decode and prefill speed of whole models: the WASM engine at several bit widths, the WASM engine
 * with f32 weights, and the f32 reference engine (shared/model LlamaModel over DenseLinear), all in
 * the same run. Synthetic models (random weights, labelled so) use real shapes.
 */
import { parseLlamaConfig } from '../../shared/model/config.ts';
import { LlamaModel } from '../../shared/model/llama.ts';
import { buildLlamaWeights } from '../../shared/model/weights.ts';
import { llamaTensorShapes } from '../../shared/model/weights.ts';
import { synthConfigJson, type SynthShape } from '../../shared/model/synth-shapes.ts';
import { Rng } from '../../shared/util/rng.ts';
import { median } from '../../scripts/lib/bench-doc.ts';
import { createWasmEngine, type EngineOptions } from '../src/engine.ts';
import type { KernelSource } from '../src/kernels.ts';
import type { PackedModelSource, QuantizedLinearSource } from '../src/model-source.ts';
import { decoderLinearNames, rtnModel, type RtnSpec } from '../src/rtn-model-source.ts';
import { randomPackedWeights } from './gemv-bench.ts';

export const PROMPT_TOKENS = 8;
export const DECODE_STEPS = 16;
export const PREFILL_TOKENS = 64;
const REFERENCE_DECODE_STEPS = 4;
const REFERENCE_PREFILL_TOKENS = 32;

export interface FloatModel { name: string; synthetic: boolean; config: Record<string, unknown>; float: (name: string) => Float32Array | undefined }
export interface EngineSpeed { decodeTokS: number; prefillTokS: number; weightMB: number }

/** Random float weights of a real shape (std 0.02, norms 1), as writeSyntheticModel does, in memory. */
export function syntheticFloatModel(name: string, shape: SynthShape, seed = 1): FloatModel {
  const config = synthConfigJson(shape, { shapeName: name, seed, dtype: 'f32' });
  const rng = new Rng(seed);
  const tensors = new Map<string, Float32Array>();
  for (const [t, dims] of llamaTensorShapes(parseLlamaConfig(config))) {
    const a = new Float32Array(dims.reduce((x, y) => x * y, 1));
    if (t.endsWith('norm.weight')) a.fill(1);
    else rng.fillNormal(a, 0.02);
    tensors.set(t, a);
  }
  return { name, synthetic: true, config, float: (t) => tensors.get(t) };
}

/** A packed source: RTN of the real weights, or random planes for synthetic models (speed does not depend on values). */
export function packedSource(model: FloatModel, spec: RtnSpec): PackedModelSource {
  if (!model.synthetic) return rtnModel(model.config, model.float, spec).source;
  const c = parseLlamaConfig(model.config);
  const rng = new Rng(7);
  const linears = new Map<string, QuantizedLinearSource>();
  for (const name of decoderLinearNames(c.numLayers)) {
    const w = model.float(`${name}.weight`)!;
    const k = name.endsWith('down_proj') ? c.intermediateSize : name.endsWith('o_proj') ? c.numHeads * c.headDim : c.hiddenSize;
    linears.set(name, { weights: randomPackedWeights(rng, w.length / k, k, spec.wbits, spec.groupSize), abits: spec.abits, actGroupSize: 0 });
  }
  return { config: model.config, linear: (n) => linears.get(n), float: (n) => (linears.has(n.replace(/\.weight$/, '')) ? undefined : model.float(n)) };
}

function promptOf(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % (vocab - 1)));
}

export async function engineSpeed(source: PackedModelSource, kernels: { simd?: KernelSource; scalar?: KernelSource }, quantizeLmHead?: { wbits: number; abits: number },
  extra: Partial<EngineOptions> = {}): Promise<EngineSpeed> {
  const engine = await createWasmEngine({ model: source, kernels, maxSeq: PREFILL_TOKENS + PROMPT_TOKENS + DECODE_STEPS + 8, quantizeLmHead, ...extra });
  const vocab = engine.config.vocabSize;
  const steps: number[] = [];
  engine.prefill(promptOf(PROMPT_TOKENS, vocab));
  let token = 3;
  for (let i = 0; i < DECODE_STEPS; i++) {
    const t0 = performance.now();
    const logits = engine.decode(token);
    steps.push(performance.now() - t0);
    token = 1 + (Math.abs(Math.floor(logits[0] * 1e6)) % (vocab - 1));
  }
  const prefill: number[] = [];
  for (let r = 0; r < 3; r++) {
    engine.reset();
    const t0 = performance.now();
    engine.prefill(promptOf(PREFILL_TOKENS, vocab));
    prefill.push(performance.now() - t0);
  }
  await engine.close();
  return { decodeTokS: 1000 / median(steps), prefillTokS: (PREFILL_TOKENS * 1000) / median(prefill), weightMB: engine.weightBytes / 1e6 };
}

/** The f32 reference engine (shared/model, TypeScript): fewer steps, it is slow on large shapes. */
export function referenceSpeed(model: FloatModel): EngineSpeed {
  const config = parseLlamaConfig(model.config);
  const ref = new LlamaModel(config, buildLlamaWeights(config, model.float));
  const cache = ref.newCache(PROMPT_TOKENS + REFERENCE_DECODE_STEPS + REFERENCE_PREFILL_TOKENS + 8);
  ref.forward(promptOf(PROMPT_TOKENS, config.vocabSize), cache);
  const steps: number[] = [];
  for (let i = 0; i < REFERENCE_DECODE_STEPS; i++) {
    const t0 = performance.now();
    ref.forward([3 + i], cache);
    steps.push(performance.now() - t0);
  }
  const t0 = performance.now();
  ref.forward(promptOf(REFERENCE_PREFILL_TOKENS, config.vocabSize), ref.newCache(REFERENCE_PREFILL_TOKENS));
  const prefillMs = performance.now() - t0;
  let params = 0;
  for (const [, dims] of llamaTensorShapes(config)) params += dims.reduce((x, y) => x * y, 1);
  return { decodeTokS: 1000 / median(steps), prefillTokS: (REFERENCE_PREFILL_TOKENS * 1000) / prefillMs, weightMB: (params * 4) / 1e6 };
}

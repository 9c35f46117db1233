/**
 * The WASM engine on stories260K (real weights), quantized by RTN into packed models: the same
 * greedy tokens as the reference integer path (shared/model LlamaModel over PackedLinearRef) for
 * 128 steps, and the same perplexity within 0.1%; SIMD and scalar builds agree; the f32 engine
 * matches the f32 reference; packed files written and read by shared/format load the same.
 */
import { beforeAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePackedModel } from '../../shared/format/packed-write.ts';
import { parseLlamaConfig } from '../../shared/model/config.ts';
import { LlamaModel } from '../../shared/model/llama.ts';
import { argmax } from '../../shared/model/sampling.ts';
import { buildLlamaWeights } from '../../shared/model/weights.ts';
import { createWasmEngine, type WasmEngine } from '../../wasm/src/index.ts';
import { createWasmEngineFromDir, loadKernelModule } from '../../wasm/src/node.ts';
import { INT_PATHS, pathSupports } from '../../wasm/src/path-choice.ts';
import type { PackedModelSource } from '../../wasm/src/model-source.ts';
import { rtnModel } from '../../wasm/src/rtn-model-source.ts';
import { describeWithShared } from '../helpers/shared-data.ts';
import { meanNll, storiesFloats, storyTokens } from './stories-fixture.ts';

const GREEDY_STEPS = 128;
const BOS = 1;
const PPL_TOKENS = 512;
const CONFIGS = [
  { name: 'W8A8', wbits: 8, abits: 8, groupSize: 0 },
  { name: 'W4A8', wbits: 4, abits: 8, groupSize: 0 },
  { name: 'W4A4', wbits: 4, abits: 4, groupSize: 0 },
  { name: 'W2A8 g32', wbits: 2, abits: 8, groupSize: 32 },
  { name: 'W4A16 g32', wbits: 4, abits: 16, groupSize: 32 },
];

let kernels: { simd: WebAssembly.Module; scalar: WebAssembly.Module };

function referenceGreedy(model: LlamaModel, steps: number): number[] {
  const cache = model.newCache(steps + 1);
  const out: number[] = [];
  let logits = model.forward([BOS], cache);
  for (let i = 0; i < steps; i++) {
    const t = argmax(logits);
    out.push(t);
    logits = model.forward([t], cache);
  }
  return out;
}

async function engineGreedy(engine: WasmEngine, steps: number): Promise<number[]> {
  const out: number[] = [];
  for await (const { token } of engine.generate([BOS], { temperature: 0 }, { maxTokens: steps, stop: [] })) out.push(token);
  return out;
}

describeWithShared('WASM engine on stories260K', () => {
  let tokens: number[];
  beforeAll(async () => {
    kernels = { simd: (await loadKernelModule('simd')).module, scalar: (await loadKernelModule('scalar')).module };
    tokens = await storyTokens(4, PPL_TOKENS);
  });

  for (const cfg of CONFIGS) {
    it(`${cfg.name}: same greedy tokens for ${GREEDY_STEPS} steps and perplexity within 0.1% of the reference integer path`, async () => {
      const { config, float } = storiesFloats();
      const { source, reference } = rtnModel(config, float, cfg);
      const engine = await createWasmEngine({ model: source, kernels, maxSeq: 512 });
      expect(engine.flavor).toBe('simd');
      const want = referenceGreedy(reference, GREEDY_STEPS);
      expect(await engineGreedy(engine, GREEDY_STEPS)).toEqual(want);
      engine.reset();
      const vocab = engine.config.vocabSize;
      const nllEngine = meanNll(engine.forwardAll(tokens), tokens, vocab);
      const nllRef = meanNll(reference.forward(tokens, reference.newCache(tokens.length), { allLogits: true }), tokens, vocab);
      expect(Math.abs(Math.exp(nllEngine) / Math.exp(nllRef) - 1)).toBeLessThan(1e-3);
    });
  }

  it('the scalar build gives the same greedy tokens as the SIMD build (W4A8, W2A8 g32 with every integer path)', async () => {
    const { config, float } = storiesFloats();
    for (const cfg of [CONFIGS[1], CONFIGS[3]]) {
      const { source } = rtnModel(config, float, cfg);
      for (const pathOverride of INT_PATHS.filter((path) => pathSupports(path, cfg.wbits))) {
        const simd = await engineGreedy(await createWasmEngine({ model: source, kernels, maxSeq: 256, pathOverride }), 64);
        const scalar = await engineGreedy(await createWasmEngine({ model: source, kernels, flavor: 'scalar', maxSeq: 256, pathOverride }), 64);
        expect(scalar).toEqual(simd);
      }
    }
  });

  it('f32 (unquantized) engine matches the f32 reference model', async () => {
    const { config, float } = storiesFloats();
    const source: PackedModelSource = { config, linear: () => undefined, float };
    const reference = new LlamaModel(parseLlamaConfig(config), buildLlamaWeights(parseLlamaConfig(config), float));
    const engine = await createWasmEngine({ model: source, kernels, maxSeq: 256 });
    expect(await engineGreedy(engine, GREEDY_STEPS)).toEqual(referenceGreedy(reference, GREEDY_STEPS));
  });

  it('prefill in chunks equals token-by-token decode; generate honours stop tokens and abort', async () => {
    const { config, float } = storiesFloats();
    const { source } = rtnModel(config, float, CONFIGS[1]);
    const engine = await createWasmEngine({ model: source, kernels, maxSeq: 256, maxBatch: 16 });
    const prompt = tokens.slice(0, 40);
    const a = engine.prefill(prompt);
    engine.reset();
    let b: Float32Array = new Float32Array();
    for (const t of prompt) b = engine.decode(t);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 4);
    const greedy = await engineGreedy(engine, 20);
    const stopAt = greedy[5];
    const stopped: number[] = [];
    for await (const { token, logprob } of engine.generate([BOS], { temperature: 0 }, { maxTokens: 20, stop: [stopAt] })) {
      expect(logprob).toBeLessThanOrEqual(0);
      stopped.push(token);
    }
    expect(stopped).toEqual(greedy.slice(0, greedy.indexOf(stopAt) + 1));
    const ac = new AbortController();
    ac.abort();
    await expect(async () => { for await (const _ of engine.generate([BOS], {}, { signal: ac.signal })) void _; }).rejects.toThrow();
  });

  it('opt-in W8A8 lm_head: logits stay close to the f32 head\'s', async () => {
    const { config, float } = storiesFloats();
    const { source } = rtnModel(config, float, CONFIGS[1]);
    const prompt = tokens.slice(0, 32);
    const f32Head = (await createWasmEngine({ model: source, kernels, maxSeq: 64 })).forwardAll(prompt);
    const q8Head = await createWasmEngine({ model: source, kernels, maxSeq: 64, quantizeLmHead: { wbits: 8, abits: 8 } });
    const got = q8Head.forwardAll(prompt);
    let maxAbs = 0, maxDiff = 0;
    for (let i = 0; i < got.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(f32Head[i]));
      maxDiff = Math.max(maxDiff, Math.abs(got[i] - f32Head[i]));
    }
    expect(maxDiff).toBeLessThan(0.03 * maxAbs);
    expect(q8Head.weightBytes).toBeLessThan((await createWasmEngine({ model: source, kernels, maxSeq: 64 })).weightBytes);
  });

  it('loads a packed folder written by shared/format and gives the in-memory model\'s tokens', async () => {
    const { config, float } = storiesFloats();
    const { source, layers } = rtnModel(config, float, CONFIGS[1]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'abq-wasm-'));
    try {
      const c = parseLlamaConfig(config);
      const floats = ['model.embed_tokens.weight', 'model.norm.weight', ...Array.from({ length: c.numLayers }, (_, l) => [
        `model.layers.${l}.input_layernorm.weight`, `model.layers.${l}.post_attention_layernorm.weight`]).flat()]
        .map((name) => ({ name, dtype: 'F32' as const, shape: name.startsWith('model.embed') ? [c.vocabSize, c.hiddenSize] : [c.hiddenSize], data: float(name)! }));
      await writePackedModel(path.join(dir, 'packed'), { layers, floats, source: { model: 'stories260K', revision: '', dtype: 'F32' }, config });
      const fromFile = await createWasmEngineFromDir(path.join(dir, 'packed'), { maxSeq: 128 });
      const inMemory = await createWasmEngine({ model: source, kernels, maxSeq: 128 });
      expect(await engineGreedy(fromFile, 32)).toEqual(await engineGreedy(inMemory, 32));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The scheduler over real step models: the shipped stories260K W4A8 on the WASM engine (in the
 * repo) and the f32 reference (../shared). Scheduled output must equal the existing in-process
 * backends' (LocalModelBackend), alone, concurrently and under KV pressure (preemption).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { REPO_ROOT, STORIES260K_DIR, describeWithShared } from '../../helpers/shared-data.ts';
import { createScheduledBackend } from '../../../gpu-node/engine/scheduler.ts';
import { createStepModelEngine } from '../../../gpu-node/engine/step-model-engine.ts';
import { loadWasmStepModel, type WasmStepModel } from '../../../gpu-node/engine/wasm-step-model.ts';
import { loadWasmBackend } from '../../../edge/backends/wasm-node.ts';
import { createReferenceBackend, referenceStepModel } from '../../../edge/backends/reference-backend.ts';
import { loadLlamaModel } from '../../../shared/model/load.ts';
import { Sampler, sampleWithUniform } from '../../../shared/model/sampling.ts';
import { Rng } from '../../../shared/util/rng.ts';
import type { GenerateRequest, InferenceBackend, SamplingOptions } from '../../../edge/backends/backend.ts';

const SHIPPED = path.join(REPO_ROOT, 'models', 'stories260K-w4a8');
const GREEDY: SamplingOptions = { temperature: 0, topK: 0, topP: 1 };
const PROMPTS = [[1, 403, 407, 261, 378], [1, 319], [1, 403, 407, 261, 378, 285, 260, 365, 263, 284, 261, 410], [1, 44, 45]];

async function run(backend: InferenceBackend, tokens: number[], maxTokens: number, sampling = GREEDY): Promise<number[]> {
  const req: GenerateRequest = { model: 'stories260K', tokens, maxTokens, sampling };
  const out: number[] = [];
  for await (const { token } of backend.generate(req)) out.push(token);
  return out;
}

describe('sampleWithUniform', () => {
  it('is the Sampler algorithm with its draw given', () => {
    const rng = new Rng(9);
    const logits = Float32Array.from({ length: 50 }, () => rng.normal() * 3);
    for (const params of [{ temperature: 0.7, topK: 10, topP: 0.9 }, { temperature: 1.3, topK: 0, topP: 1 }, { temperature: 0, topK: 0, topP: 1 }]) {
      const sampler = new Sampler({ ...params, seed: 4 });
      const draws = new Rng(4);
      for (let i = 0; i < 40; i++) expect(sampleWithUniform(logits, params, params.temperature > 0 ? draws.next() : 0)).toBe(sampler.sample(logits));
    }
  });
});

describe('step-model engine checks the block tables it is given', () => {
  const model = { vocabSize: 8, contextLength: 32, parameterCount: 1, newSession: () => ({ forward: () => new Float32Array(8) }) };
  const sample = { temperature: 0, topK: 0, topP: 1, uniform: 0, logprob: false };
  it('rejects a step that does not start at the cached position or whose table is short', async () => {
    const engine = createStepModelEngine(model, { backend: 'reference', modelId: 'x', blockSize: 4, maxSeqs: 2 });
    expect(engine.info).toMatchObject({ numBlocks: 16, blockSize: 4, maxSeqs: 2, contextLength: 32 });
    await expect(engine.step([{ seqId: 1, tokens: Int32Array.of(1, 2, 3, 4, 5), position: 0, blockTable: Int32Array.of(0), sample }])).rejects.toThrow(/covers 4 positions, fewer than 5/);
    expect(await engine.step([{ seqId: 1, tokens: Int32Array.of(1, 2), position: 0, blockTable: Int32Array.of(0), sample }])).toEqual([{ seqId: 1, token: 0 }]);
    await expect(engine.step([{ seqId: 1, tokens: Int32Array.of(1), position: 5, blockTable: Int32Array.of(0, 1), sample }])).rejects.toThrow(/position 5, but its cache holds 2/);
    await expect(engine.step([{ seqId: 2, tokens: Int32Array.of(1), position: 0, blockTable: Int32Array.of(16), sample }])).rejects.toThrow(/block id 16 is outside/);
    engine.release(1);
    expect(await engine.step([{ seqId: 1, tokens: Int32Array.of(1), position: 0, blockTable: Int32Array.of(3), sample: null }])).toEqual([]);
  });
});

describe('scheduler over the WASM engine (shipped stories260K W4A8)', () => {
  let wasm: WasmStepModel;
  let local: InferenceBackend;
  const scheduled = (opts: { maxBatchTokens?: number; numBlocks?: number; blockSize?: number } = {}) =>
    createScheduledBackend(createStepModelEngine(wasm.model, { backend: 'wasm', modelId: 'stories260K', maxSeqs: 4, ...opts }), { id: 'wasm:stories260K', modelIds: ['stories260K'], watermarkBlocks: 0 });

  beforeAll(async () => {
    wasm = await loadWasmStepModel(SHIPPED, 4);
    local = await loadWasmBackend(SHIPPED, 'stories260K');
  });

  it('greedy and seeded sampling equal the in-process WASM backend', async () => {
    const backend = scheduled({ maxBatchTokens: 4 }); // prompts are chunked
    for (const p of PROMPTS.slice(0, 2)) expect(await run(backend, p, 40)).toEqual(await run(local, p, 40));
    const sampled = { temperature: 0.8, topK: 40, topP: 0.95, seed: 1234 };
    expect(await run(backend, PROMPTS[2], 32, sampled)).toEqual(await run(local, PROMPTS[2], 32, sampled));
  });

  it('several concurrent streams give the tokens each gives alone, also when KV pressure preempts', async () => {
    const alone = [];
    for (const p of PROMPTS) alone.push(await run(local, p, 48));
    const roomy = scheduled({ maxBatchTokens: 16 });
    expect(await Promise.all(PROMPTS.map((p) => run(roomy, p, 48)))).toEqual(alone);
    // 4 sequences of up to 60 positions in 12 blocks of 8 (96 positions): they cannot all grow at once.
    const tight = scheduled({ maxBatchTokens: 16, numBlocks: 12, blockSize: 8 });
    expect(await Promise.all(PROMPTS.map((p) => run(tight, p, 48)))).toEqual(alone);
    expect(tight.stats().preemptions).toBeGreaterThan(0);
    expect(tight.stats()).toMatchObject({ running: 0, queued: 0, freeBlocks: 12 });
  });
});

describeWithShared('scheduler over the f32 reference (stories260K)', () => {
  it('greedy equals the reference backend', async () => {
    const { model } = await loadLlamaModel(STORIES260K_DIR!);
    const engine = createStepModelEngine(referenceStepModel(model), { backend: 'reference', modelId: 'stories260K', maxBatchTokens: 3 });
    const backend = createScheduledBackend(engine, { id: 'reference:stories260K', modelIds: ['stories260K'] });
    const reference = createReferenceBackend(model, 'stories260K');
    const [a, b] = await Promise.all([run(backend, PROMPTS[0], 24), run(backend, PROMPTS[2], 24)]);
    expect(a).toEqual(await run(reference, PROMPTS[0], 24));
    expect(b).toEqual(await run(reference, PROMPTS[2], 24));
  });
});

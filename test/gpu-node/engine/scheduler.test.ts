/** The continuous-batching scheduler over a deterministic fake engine (fake-engine.ts). */
import { describe, expect, it } from 'vitest';
import { createScheduledBackend, SchedulerRefusal, type ScheduledBackend } from '../../../gpu-node/engine/scheduler.ts';
import type { GenerateRequest } from '../../../edge/backends/backend.ts';
import { Sampler } from '../../../shared/model/sampling.ts';
import { FakeEngine, type FakeEngineOptions } from './fake-engine.ts';

const GREEDY = { temperature: 0, topK: 0, topP: 1 };

function setup(engineOpts: FakeEngineOptions = {}, maxQueue?: number, watermarkBlocks?: number) {
  const engine = new FakeEngine(engineOpts);
  const backend = createScheduledBackend(engine, { id: 'fake:test', modelIds: ['fake'], maxQueue, watermarkBlocks });
  return { engine, backend };
}

const req = (tokens: number[], maxTokens: number, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({ model: 'fake', tokens, maxTokens, sampling: GREEDY, ...extra });

async function collect(backend: ScheduledBackend, r: GenerateRequest): Promise<number[]> {
  const out: number[] = [];
  for await (const { token } of backend.generate(r)) out.push(token);
  return out;
}

const prompt = (n: number, base = 1) => Array.from({ length: n }, (_, i) => (base + i * 7) % 64);

describe('scheduler: batching', () => {
  it('streams the same tokens as the engine run alone, for several requests at once', async () => {
    const { engine, backend } = setup({ maxBatchTokens: 16 });
    const prompts = [prompt(3, 1), prompt(9, 2), prompt(5, 3), prompt(1, 4)];
    const outs = await Promise.all(prompts.map((p, i) => collect(backend, req(p, 6 + i))));
    outs.forEach((o, i) => expect(o).toEqual(FakeEngine.greedy(prompts[i], 6 + i)));
    // Batches really were shared: some step carried all four sequences.
    expect(Math.max(...engine.batches.map((b) => b.length))).toBe(4);
    expect(backend.stats()).toMatchObject({ running: 0, queued: 0, freeBlocks: 64, totalBlocks: 64, preemptions: 0 });
    expect(engine.live).toBe(0); // every sequence was released
  });

  it('splits a long prompt over steps (chunked prefill) while running streams keep decoding first', async () => {
    const { engine, backend } = setup({ maxBatchTokens: 8 });
    const shortReq = collect(backend, req([5], 12));
    while (engine.batches.length < 2) await new Promise((r) => setImmediate(r));
    const long = prompt(20, 9);
    const longOut = await collect(backend, req(long, 2));
    await shortReq;
    const longId = 1;
    const longSteps = engine.batches.map((b) => b.find((s) => s.seqId === longId)).filter((s) => s !== undefined);
    // 7 + 7 + 6 prompt tokens (one token of each step's budget of 8 went to the short stream's decode), then a decode.
    expect(longSteps.map((s) => [s.position, s.count, s.sample])).toEqual([[0, 7, false], [7, 7, false], [14, 6, true], [20, 1, true]]);
    for (const b of engine.batches) if (b.some((s) => s.seqId === longId && !s.sample)) expect(b.some((s) => s.seqId === 0 && s.count === 1)).toBe(true);
    expect(longOut).toEqual(FakeEngine.greedy(long, 2));
  });

  it('keeps every batch within maxBatchTokens and maxSeqs', async () => {
    const { engine, backend } = setup({ maxBatchTokens: 10, maxSeqs: 3 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => collect(backend, req(prompt(4 + i, i), 5))));
    for (const b of engine.batches) {
      expect(b.reduce((n, s) => n + s.count, 0)).toBeLessThanOrEqual(10);
      expect(b.length).toBeLessThanOrEqual(3);
    }
  });

  it('draws each token from the request seed exactly like Sampler (greedy draws nothing)', async () => {
    const { backend } = setup({ maxBatchTokens: 4 });
    const sampling = { temperature: 0.9, topK: 20, topP: 0.9, seed: 77 };
    const p = prompt(6);
    // Another stream in the same batches must not disturb this one's draws.
    const [got] = await Promise.all([collect(backend, req(p, 10, { sampling })), collect(backend, req(prompt(5, 3), 10, { sampling: { ...sampling, seed: 5 } }))]);
    const sampler = new Sampler(sampling);
    const seq = p.slice();
    const want: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = sampler.sample(FakeEngine.logits(seq));
      want.push(t);
      seq.push(t);
    }
    expect(got).toEqual(want);
    expect(await collect(backend, req(p, 10, { sampling: { ...sampling, seed: 78 } }))).not.toEqual(got);
  });

  it('reports logprobs on request only', async () => {
    const { backend } = setup();
    const withLp: { token: number; logprob?: number }[] = [];
    for await (const t of backend.generate(req([1, 2], 3, { logprobs: true }))) withLp.push(t);
    expect(withLp.every((t) => typeof t.logprob === 'number' && t.logprob <= 0)).toBe(true);
    for await (const t of backend.generate(req([1, 2], 3))) expect(t.logprob).toBeUndefined();
  });

  it('stops on a stop sequence, emitting it', async () => {
    const { backend } = setup();
    const free = FakeEngine.greedy([3, 4], 8);
    const out = await collect(backend, req([3, 4], 8, { stop: [[free[2], free[3]]] }));
    expect(out).toEqual(free.slice(0, 4));
  });
});

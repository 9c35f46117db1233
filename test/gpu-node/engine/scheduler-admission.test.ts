/** The scheduler's admission, preemption, cancellation, refusals, engine errors and drain (fake engine). */
import { describe, expect, it } from 'vitest';
import { createScheduledBackend, SchedulerRefusal, type ScheduledBackend } from '../../../gpu-node/engine/scheduler.ts';
import type { GenerateRequest, SamplingOptions } from '../../../edge/backends/backend.ts';
import { FakeEngine, type FakeEngineOptions } from './fake-engine.ts';

const GREEDY = { temperature: 0, topK: 0, topP: 1 };

function setup(engineOpts: FakeEngineOptions = {}, sched: { maxQueue?: number; watermarkBlocks?: number } = {}) {
  const engine = new FakeEngine(engineOpts);
  return { engine, backend: createScheduledBackend(engine, { id: 'fake:test', modelIds: ['fake'], ...sched }) };
}

const req = (tokens: number[], maxTokens: number, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({ model: 'fake', tokens, maxTokens, sampling: GREEDY, ...extra });

async function collect(backend: ScheduledBackend, r: GenerateRequest): Promise<number[]> {
  const out: number[] = [];
  for await (const { token } of backend.generate(r)) out.push(token);
  return out;
}

const tick = () => new Promise((r) => setImmediate(r));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await tick();
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('scheduler: KV admission and preemption', () => {
  it('admits a request only when its prompt blocks fit above the watermark; the rest wait', async () => {
    const { engine, backend } = setup({ numBlocks: 4, blockSize: 4 });
    const open = engine.hold();
    const a = collect(backend, req([1, 2, 3, 4, 5, 6, 7, 8], 8));
    const b = collect(backend, req([9, 10, 11, 12, 13, 14, 15, 16], 8));
    await tick();
    // a holds 2 blocks; b needs 2 of the 2 left, which would leave less than the 1-block watermark.
    expect(backend.stats()).toMatchObject({ running: 1, queued: 1, freeBlocks: 2 });
    open();
    const [outA, outB] = await Promise.all([a, b]);
    expect(outA).toEqual(FakeEngine.greedy([1, 2, 3, 4, 5, 6, 7, 8], 8));
    expect(outB).toEqual(FakeEngine.greedy([9, 10, 11, 12, 13, 14, 15, 16], 8));
    const firstB = engine.batches.findIndex((batch) => batch.some((s) => s.seqId === 1));
    const lastA = engine.batches.map((batch) => batch.some((s) => s.seqId === 0)).lastIndexOf(true);
    expect(firstB).toBeGreaterThan(lastA);
  });

  it('preempts the newest sequence when a decode finds no free block; recompute gives identical tokens', async () => {
    const sampled: SamplingOptions = { temperature: 0.8, topK: 0, topP: 1, seed: 11 };
    const reqs = [req([1, 2, 3, 4], 14), req([5, 6, 7, 8], 14, { sampling: sampled }), req([9, 10, 11], 14)];
    const roomy = setup({ numBlocks: 64, blockSize: 4 });
    const want = await Promise.all(reqs.map((r) => collect(roomy.backend, r)));
    expect(roomy.backend.stats().preemptions).toBe(0);

    const tight = setup({ numBlocks: 8, blockSize: 4 }, { watermarkBlocks: 0 });
    const got = await Promise.all(reqs.map((r) => collect(tight.backend, r)));
    expect(tight.backend.stats().preemptions).toBeGreaterThan(0);
    expect(got).toEqual(want);
    // A preempted sequence was released and then ran again from position 0.
    const restarted = tight.engine.batches.flat().filter((s) => s.position === 0);
    expect(restarted.length).toBeGreaterThan(reqs.length);
    expect(tight.backend.stats()).toMatchObject({ running: 0, queued: 0, freeBlocks: 8 });
  });

  it('refuses up front (RangeError) a request that could not fit the whole KV pool', async () => {
    const { backend } = setup({ numBlocks: 4, blockSize: 4 });
    // 10 + 8 - 1 = 17 cached positions > 16.
    await expect(collect(backend, req(Array(10).fill(1), 8))).rejects.toThrow(RangeError);
    await expect(collect(backend, req(Array(10).fill(1), 8))).rejects.toThrow(/needs 5 KV blocks of 4 tokens, more than this node's 4/);
    expect(await collect(backend, req(Array(10).fill(1), 7))).toHaveLength(7);
    await expect(collect(backend, req([1, 99], 2))).rejects.toThrow(/outside the vocabulary/);
  });
});

describe('scheduler: cancellation', () => {
  it('an aborted signal ends the stream and frees its blocks at the next iteration', async () => {
    const { engine, backend } = setup();
    const ac = new AbortController();
    const got: number[] = [];
    for await (const { token } of backend.generate(req([1, 2, 3], 100, { signal: ac.signal }))) {
      got.push(token);
      if (got.length === 3) ac.abort();
    }
    expect(got.length).toBeLessThan(100);
    await until(() => backend.stats().running === 0, 'the cancelled sequence to leave');
    expect(backend.stats().freeBlocks).toBe(64);
    expect(engine.released).toContain(0);
    expect(engine.live).toBe(0);
  });

  it('a consumer that stops reading (return()) cancels too, and a queued request can leave', async () => {
    const { engine, backend } = setup({ maxSeqs: 1 });
    for await (const _ of backend.generate(req([1], 50))) break;
    await until(() => backend.stats().running === 0 && engine.live === 0, 'release after break');

    const open = engine.hold();
    const running = collect(backend, req([1], 5));
    const ac = new AbortController();
    const queued = collect(backend, req([2], 5, { signal: ac.signal }));
    await tick();
    expect(backend.stats()).toMatchObject({ running: 1, queued: 1 });
    ac.abort();
    expect(await queued).toEqual([]);
    open();
    expect(await running).toHaveLength(5);
    expect(backend.stats()).toMatchObject({ running: 0, queued: 0, freeBlocks: 64 });
  });
});

describe('scheduler: refusals, engine errors, drain', () => {
  it('refuses with queue_full beyond maxQueue waiting requests', async () => {
    const { engine, backend } = setup({ maxSeqs: 1 }, { maxQueue: 1 });
    const open = engine.hold();
    const a = collect(backend, req([1], 3));
    const b = collect(backend, req([2], 3));
    await tick();
    const refused = collect(backend, req([3], 3)).catch((e: unknown) => e);
    const err = await refused;
    expect(err).toBeInstanceOf(SchedulerRefusal);
    expect((err as SchedulerRefusal).code).toBe('queue_full');
    expect((err as Error).message).toMatch(/queue full \(1 waiting, max 1\)/);
    open();
    expect((await Promise.all([a, b])).map((o) => o.length)).toEqual([3, 3]);

    // maxQueue 0: a request is taken only when a sequence slot is free for it now.
    const strict = setup({ maxSeqs: 1 }, { maxQueue: 0 });
    const hold = strict.engine.hold();
    const taken = collect(strict.backend, req([1], 2));
    await tick();
    expect(((await collect(strict.backend, req([2], 2)).catch((e: unknown) => e)) as SchedulerRefusal).code).toBe('queue_full');
    hold();
    expect(await taken).toHaveLength(2);
  });

  it('fails the requests of a batch whose step throws, frees them, and keeps serving', async () => {
    const { engine, backend } = setup({ failWhen: (s) => s.tokens.includes(63) });
    await expect(collect(backend, req([1, 63], 4))).rejects.toThrow(/engine reference step over 1 sequences failed: injected engine failure/);
    expect(backend.stats()).toMatchObject({ running: 0, freeBlocks: 64 });
    expect(engine.released).toContain(0);
    expect(await collect(backend, req([1, 2], 4))).toEqual(FakeEngine.greedy([1, 2], 4));
  });

  it('drain stops admitting and resolves once running and queued requests have finished', async () => {
    const { engine, backend } = setup({ maxSeqs: 1 });
    const a = collect(backend, req([1], 6));
    const b = collect(backend, req([2], 6));
    await tick();
    let drained = false;
    const draining = backend.drain().then(() => (drained = true));
    expect(backend.stats().draining).toBe(true);
    const refused = await collect(backend, req([3], 2)).catch((e: unknown) => e);
    expect((refused as SchedulerRefusal).code).toBe('draining');
    expect(drained).toBe(false);
    expect((await Promise.all([a, b])).map((o) => o.length)).toEqual([6, 6]);
    await draining;
    await backend.close();
    expect(engine.closed).toBe(true);
  });
});

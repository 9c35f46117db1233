/**
 * One conformance suite for every InferenceBackend (edge/backends/backend.ts), like Hono's
 * `common.case.test.ts` for routers: `runBackendConformance({ name, create })` defines the cases;
 * each backend's test file calls it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { GenerateRequest, InferenceBackend } from '../../edge/backends/backend.ts';

export interface ConformanceTarget {
  name: string;
  create: () => Promise<InferenceBackend>;
  model: string;
  vocabSize: number;
}

const PROMPT = [1, 403, 407, 261, 378]; // BOS "Once upon a time" in the stories260K vocabulary

async function collect(b: InferenceBackend, req: Partial<GenerateRequest> & { model: string }) {
  const out: { token: number; logprob?: number }[] = [];
  for await (const t of b.generate({ tokens: PROMPT, sampling: { temperature: 0, topP: 1, topK: 0 }, maxTokens: 16, ...req })) out.push(t);
  return out;
}

export function runBackendConformance(t: ConformanceTarget): void {
  describe(`InferenceBackend conformance: ${t.name}`, () => {
    let b: InferenceBackend;
    beforeAll(async () => {
      b = await t.create();
    });

    it('declares what it serves', () => {
      expect(typeof b.id).toBe('string');
      expect(['gpu', 'wasm', 'reference']).toContain(b.kind);
      expect(b.supports(t.model)).toBe(true);
      expect(b.supports('no-such-model')).toBe(false);
    });

    it('yields at most maxTokens valid token ids, deterministically when greedy', async () => {
      const a = await collect(b, { model: t.model, maxTokens: 12 });
      expect(a.length).toBeGreaterThan(0);
      expect(a.length).toBeLessThanOrEqual(12);
      for (const { token } of a) expect(Number.isInteger(token) && token >= 0 && token < t.vocabSize).toBe(true);
      expect(await collect(b, { model: t.model, maxTokens: 12 })).toEqual(a);
    });

    it('reproduces seeded sampling, and different seeds differ', async () => {
      const s = (seed: number) => collect(b, { model: t.model, maxTokens: 24, sampling: { temperature: 1, topP: 0.95, topK: 50, seed } });
      const a = await s(5);
      expect(await s(5)).toEqual(a);
      expect((await s(6)).map((x) => x.token)).not.toEqual(a.map((x) => x.token));
    });

    it('ends right after a stop sequence', async () => {
      const greedy = (await collect(b, { model: t.model, maxTokens: 12 })).map((x) => x.token);
      const got = (await collect(b, { model: t.model, maxTokens: 12, stop: [[999_999], greedy.slice(3, 5)] })).map((x) => x.token);
      expect(got).toEqual(greedy.slice(0, 5));
    });

    it('reports log-probabilities on request', async () => {
      const got = await collect(b, { model: t.model, maxTokens: 4, logprobs: true });
      for (const x of got) {
        expect(Number.isFinite(x.logprob)).toBe(true);
        expect(x.logprob!).toBeLessThanOrEqual(0);
      }
    });

    it('stops soon after the signal aborts', async () => {
      const controller = new AbortController();
      let n = 0;
      try {
        for await (const _ of b.generate({ model: t.model, tokens: PROMPT, sampling: { temperature: 0, topP: 1, topK: 0 }, maxTokens: 200, signal: controller.signal })) {
          if (++n === 3) controller.abort();
        }
      } catch (e) {
        expect((e as Error).name).toMatch(/Abort/);
      }
      expect(n).toBeLessThanOrEqual(5);
    });

    it('rejects token ids outside the vocabulary before producing anything', async () => {
      await expect(collect(b, { model: t.model, tokens: [1, t.vocabSize + 5] })).rejects.toThrow();
    });
  });
}

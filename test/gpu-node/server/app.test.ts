/** The node server's protocol on app.request, over the f32 reference backend (stories260K) behind the scheduler. */
import { beforeAll, expect, it } from 'vitest';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';
import { createNodeApp, type NodeApp } from '../../../gpu-node/server/app.ts';
import { loadBackend } from '../../../gpu-node/server/load-backend.ts';
import { signRequest, SIGNATURE_HEADER } from '../../../shared/auth/index.ts';
import { readSseText, TEST_SECRET } from '../../edge/helpers/fixtures.ts';

async function signed(path: string, body?: unknown, secret = TEST_SECRET): Promise<Request> {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const sig = await signRequest({ secret, method: text === undefined ? 'GET' : 'POST', path, body: text });
  return new Request(`http://node.test${path}`, { method: text === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sig }, body: text });
}

describeWithShared('gpu-node server (reference backend)', () => {
  let node: NodeApp;
  const gen = { model: 'stories260K', tokens: [1, 403, 407, 261, 378], max_tokens: 12, temperature: 0, top_p: 1, top_k: 0 };

  beforeAll(async () => {
    const { backend, modelIds } = await loadBackend('reference', STORIES260K_DIR!, 'stories260K', { maxSeqs: 2, maxQueue: 1, blockSize: 16 });
    node = createNodeApp({ backend, modelIds, secret: TEST_SECRET });
  });

  it('reports health: model, queue depth, free sequence slots and KV blocks, planned memory', async () => {
    const res = await node.app.request(await signed('/health'));
    const h = await res.json();
    // stories260K's context is 512: 2 sequences x 512 / 16 = 64 blocks by default.
    expect(h).toMatchObject({ status: 'ok', backend: 'reference:stories260K', models: ['stories260K'], queue_depth: 0, active: 0, free_kv_slots: 2, max_slots: 2, kv_blocks_free: 64, kv_blocks_total: 64, kv_block_size: 16, preemptions: 0, context_length: 512 });
    expect(Object.keys(h.memory).sort()).toEqual(['kv_bytes', 'total_bytes', 'weight_bytes', 'workspace_bytes']);
    expect(h.engine).toMatch(/reference/);
  });

  it('streams token ids with logprobs as SSE, ending with a done event', async () => {
    const res = await node.app.request(await signed('/v1/generate', { ...gen, logprobs: true }));
    expect(res.status).toBe(200);
    const events = await readSseText(res);
    const tokens = events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data));
    expect(tokens).toHaveLength(12);
    for (const t of tokens) {
      expect(Number.isInteger(t.token)).toBe(true);
      expect(t.logprob).toBeLessThanOrEqual(0);
    }
    expect(events.at(-1)).toEqual({ event: 'done', data: JSON.stringify({ finish_reason: 'length', completion_tokens: 12 }) });
  });

  it('answers stream: false in one JSON piece with the same tokens as the SSE stream', async () => {
    const streamed = (await readSseText(await node.app.request(await signed('/v1/generate', { ...gen, logprobs: true })))).filter((e) => e.event === 'message').map((e) => JSON.parse(e.data));
    const res = await node.app.request(await signed('/v1/generate', { ...gen, logprobs: true, stream: false }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ tokens: streamed, finish_reason: 'length', completion_tokens: 12 });
    const bad = await node.app.request(await signed('/v1/generate', { ...gen, stream: 'no' }));
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/stream must be a boolean/);
  });

  it('is deterministic at temperature 0 and with a seed', async () => {
    const run = async (body: object) => (await readSseText(await node.app.request(await signed('/v1/generate', body)))).filter((e) => e.event === 'message').map((e) => JSON.parse(e.data).token);
    expect(await run(gen)).toEqual(await run(gen));
    const sampled = { ...gen, temperature: 0.9, top_k: 40, top_p: 0.95, seed: 1234 };
    expect(await run(sampled)).toEqual(await run(sampled));
  });

  it('stops after a stop sequence', async () => {
    const first = (await readSseText(await node.app.request(await signed('/v1/generate', gen)))).filter((e) => e.event === 'message').map((e) => JSON.parse(e.data).token);
    const events = await readSseText(await node.app.request(await signed('/v1/generate', { ...gen, stop: [[first[2]]] })));
    expect(events.filter((e) => e.event === 'message')).toHaveLength(3);
    expect(JSON.parse(events.at(-1)!.data).finish_reason).toBe('stop');
  });

  it('answers 401 to unsigned, wrongly signed, tampered or replayed requests', async () => {
    expect((await node.app.request('http://node.test/health')).status).toBe(401);
    expect((await node.app.request(await signed('/health', undefined, 'z'.repeat(40)))).status).toBe(401);
    const req = await signed('/v1/generate', gen);
    const tampered = new Request(req.url, { method: 'POST', headers: req.headers, body: JSON.stringify({ ...gen, max_tokens: 500 }) });
    const res = await node.app.request(tampered);
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe('bad_signature');
    const once = await signed('/health');
    expect((await node.app.request(once.clone())).status).toBe(200);
    expect((await node.app.request(once)).status).toBe(401);
    expect((await node.app.request('http://node.test/metrics')).status).toBe(401);
  });

  it('rejects bad bodies (400) and unknown models (404)', async () => {
    expect((await node.app.request(await signed('/v1/generate', '{"model":'))).status).toBe(400);
    expect((await node.app.request(await signed('/v1/generate', { ...gen, tokens: [1, 99999] }))).status).toBe(400);
    expect((await node.app.request(await signed('/v1/generate', { ...gen, max_tokens: 0 }))).status).toBe(400);
    expect((await node.app.request(await signed('/v1/generate', { ...gen, model: 'other' }))).status).toBe(404);
  });

  it('serves prom-client metrics to signed scrapes', async () => {
    const text = await (await node.app.request(await signed('/metrics'))).text();
    expect(text).toMatch(/abq_node_generated_tokens_total\{backend="reference:stories260K"\} \d+/);
    expect(text).toMatch(/abq_node_auth_failures_total\{reason="missing"/);
  });

  it('answers 400 to a request longer than the context', async () => {
    const res = await node.app.request(await signed('/v1/generate', { ...gen, max_tokens: 600 }));
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/exceeds the context length 512/);
  });
});

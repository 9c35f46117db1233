/**
 * The edge Worker inside workerd: the OpenAI API on the GPU path (a real node server on 127.0.0.1)
 * and on the WASM fallback (the engine running in this isolate), auth and validation errors, SSE.
 */
import * as workers from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { buildWorkerEdge, type WorkerEnv } from '../../../edge/worker-edge.ts';

const E = workers.env as unknown as WorkerEnv & { HAVE_STORIES: string };
const KEY = 'sk-test-key-123456';
const SKIP = 'skipped: ../shared (stories260K) not found beside the repository';
// The main Worker (edge/worker.ts) as this isolate sees it (`exports` is typed by the pool's own d.ts, not included here).
const worker = (workers as unknown as { exports: { default: { fetch(r: Request): Promise<Response> } } }).exports.default;

function post(path: string, body: unknown, key = KEY): Request {
  return new Request(`http://edge.test${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
}
const prompt = { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 12, temperature: 0 };

const suite = E.HAVE_STORIES === 'yes' ? describe : describe.skip;
suite(`edge in workerd${E.HAVE_STORIES === 'yes' ? '' : ` (${SKIP})`}`, () => {
  it('routes a completion to the GPU node and streams SSE in the OpenAI format', async () => {
    const res = await worker.fetch(post('/v1/completions', prompt));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-served-by')).toBe('gpu');
    const body = (await res.json()) as { choices: { text: string }[] };
    expect(body.choices[0].text.length).toBeGreaterThan(5);

    const sres = await worker.fetch(post('/v1/completions', { ...prompt, stream: true }));
    const text = await sres.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const streamed = text.split('\n\n').filter((b) => b.startsWith('data: {')).map((b) => JSON.parse(b.slice(6)).choices[0].text).join('');
    expect(streamed).toBe(body.choices[0].text);
  });

  it('runs the model itself on the WASM engine when no node can serve, with the same greedy text', async () => {
    const gpu = (await (await worker.fetch(post('/v1/completions', prompt))).json()) as { choices: { text: string }[] };
    const edge = await buildWorkerEdge({ ...E, ABQ_NODES: JSON.stringify([{ id: 'dead', url: 'http://127.0.0.1:9', models: ['stories260K'] }]) });
    const res = await edge.app.request(post('/v1/completions', prompt));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-served-by')).toBe('wasm');
    const body = (await res.json()) as { choices: { text: string }[] };
    expect(body.choices[0].text).toBe(gpu.choices[0].text);
    const metrics = await (await edge.app.request('/metrics', { headers: { authorization: `Bearer ${KEY}` } })).text();
    expect(metrics).toMatch(/abq_edge_requests_total\{endpoint="completions",served_by="wasm",status="200"\} 1/);
    expect(metrics).toMatch(/abq_edge_node_failures_total\{node="dead",phase="before_first_token"\} 1/);
  });

  it('rejects bad keys, malformed JSON and out-of-range parameters with OpenAI errors', async () => {
    expect((await worker.fetch(post('/v1/completions', prompt, 'sk-bad-key-000000'))).status).toBe(401);
    const bad = await worker.fetch(new Request('http://edge.test/v1/completions', { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: '{oops' }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    const range = await worker.fetch(post('/v1/completions', { ...prompt, temperature: 9 }));
    expect(range.status).toBe(400);
    expect(((await range.json()) as { error: { param: string } }).error.param).toBe('temperature');
  });

  it('lists the model and serves the playground and health', async () => {
    const models = (await (await worker.fetch(new Request('http://edge.test/v1/models', { headers: { authorization: `Bearer ${KEY}` } }))).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['stories260K']);
    expect(await (await worker.fetch(new Request('http://edge.test/'))).text()).toContain('abq-serve playground');
    const health = (await (await worker.fetch(new Request('http://edge.test/healthz'))).json()) as { status: string; wasm: unknown[] };
    expect(health.status).toBe('ok');
    expect(health.wasm).toHaveLength(1);
  });
});

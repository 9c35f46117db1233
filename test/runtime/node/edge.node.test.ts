/**
 * The edge on Node as `npm start` runs it (startEdgeServer: @hono/node-server, node:http to nodes,
 * node:crypto signing) with a real GPU node process on 127.0.0.1: the twin of the workerd suite.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';
import { startEdgeServer, type StartedEdge } from '../../../edge/node.ts';
import { startNodeProcess, type NodeProcess } from '../../edge/helpers/node-process.ts';
import { TEST_KEY, TEST_SECRET } from '../../edge/helpers/constants.ts';

describeWithShared('edge on Node with a GPU node process', () => {
  let node: NodeProcess;
  let edge: StartedEdge;
  const post = (body: unknown, key = TEST_KEY) => fetch(`${edge.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  const prompt = { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 12, temperature: 0 };

  beforeAll(async () => {
    node = await startNodeProcess({ modelDir: STORIES260K_DIR! });
    edge = await startEdgeServer({ ABQ_API_KEYS: `t:${TEST_KEY}`, ABQ_NODE_SECRET: TEST_SECRET, ABQ_NODES: `n1=${node.url}`, ABQ_RATE_LIMIT_PER_MINUTE: '0', ABQ_HEALTH_INTERVAL_MS: '200' }, { port: 0 });
  });
  afterAll(async () => {
    await edge?.close();
    await node?.kill();
  });

  it('knows the node and its models before the first request, and routes to it', async () => {
    const health = await (await fetch(`${edge.url}/healthz`)).json();
    expect(health.nodes).toMatchObject([{ id: 'n1', status: 'up', models: ['stories260K'] }]);
    const res = await post(prompt);
    expect(res.headers.get('x-abq-served-by')).toBe('gpu');
    const gpuText = (await res.json()).choices[0].text;
    const stream = await (await post({ ...prompt, stream: true })).text();
    expect(stream.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(stream.split('\n\n').filter((b) => b.startsWith('data: {')).map((b) => JSON.parse(b.slice(6)).choices[0].text).join('')).toBe(gpuText);
  });

  it('falls back to its own WASM engine (the shipped W4A8 model) once the node is gone', async () => {
    await node.kill('SIGKILL');
    const res = await post(prompt);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-served-by')).toBe('wasm');
    expect((await res.json()).choices[0].text.length).toBeGreaterThan(5);
    const metrics = await (await fetch(`${edge.url}/metrics`, { headers: { authorization: `Bearer ${TEST_KEY}` } })).text();
    expect(metrics).toMatch(/abq_edge_requests_total\{endpoint="completions",served_by="gpu",status="200"\} 2/);
    expect(metrics).toMatch(/abq_edge_requests_total\{endpoint="completions",served_by="wasm",status="200"\} 1/);
  });

  it('answers bad keys and malformed JSON with OpenAI errors over real HTTP', async () => {
    expect((await post(prompt, 'sk-nope-00000000')).status).toBe(401);
    const bad = await fetch(`${edge.url}/v1/completions`, { method: 'POST', headers: { authorization: `Bearer ${TEST_KEY}` }, body: '{oops' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_json');
  });
});

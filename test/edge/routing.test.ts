/**
 * Routing against two real node servers (WASM backend, stories260K) on 127.0.0.1: least-outstanding
 * balancing, failover when a node dies idle (retry before the first token), the SSE error event when
 * it dies mid-stream, recovery after restart, and the WASM fallback when every node is gone.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithShared, STORIES260K_DIR } from '../helpers/shared-data.ts';
import { createEdgeApp, type EdgeApp } from '../../edge/app.ts';
import { post, readSseText, scriptedBackend, storiesModel, testConfig } from './helpers/fixtures.ts';
import { startNodeProcess, type NodeProcess } from './helpers/node-process.ts';
import { allNodesUp, routingEnv, twoNodes, waitFor } from './helpers/two-nodes.ts';
import { createNodeHttpFetch } from '../../edge/node-fetch.ts';
import { signRequestNode } from '../../edge/node-sign.ts';


describeWithShared('edge routing over two real nodes', () => {
  const nodes: Record<string, NodeProcess> = {};
  let edge: EdgeApp;
  const model = storiesModel();
  const completion = (extra: object = {}) => post('/v1/completions', { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 8, temperature: 0, ...extra });

  beforeAll(async () => {
    [nodes.a, nodes.b] = await Promise.all([startNodeProcess({ modelDir: STORIES260K_DIR! }), startNodeProcess({ modelDir: STORIES260K_DIR! })]);
    edge = createEdgeApp({
      config: testConfig(routingEnv({ ABQ_NODES: twoNodes(nodes) })),
      models: [model],
      localBackends: [scriptedBackend({ tokens: [403, 407, 261, 378] })],
      healthChecks: 'timer',
      fetch: createNodeHttpFetch(), // what edge/node.ts uses (workerd's fetch is covered by test/runtime/workerd)
      sign: signRequestNode, // likewise; the wrong-secret test below builds its own app with the default signer
    });
    await allNodesUp(edge);
  });

  afterAll(async () => {
    edge?.close();
    await Promise.all(Object.values(nodes).map((n) => n.kill()));
  });

  it('serves from a GPU node and gives the same greedy text on either node', async () => {
    const res = await edge.app.request(completion());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-served-by')).toBe('gpu');
    const body = await res.json();
    expect(body.choices[0].text.length).toBeGreaterThan(5);
    // Two concurrent streams: least-outstanding puts them on different nodes; greedy text matches.
    const [r1, r2] = await Promise.all([edge.app.request(completion({ stream: true, max_tokens: 40 })), edge.app.request(completion({ stream: true, max_tokens: 40 }))]);
    expect(new Set([r1.headers.get('x-abq-backend'), r2.headers.get('x-abq-backend')])).toEqual(new Set(['node:a', 'node:b']));
    const texts = await Promise.all([r1, r2].map(async (r) => (await readSseText(r)).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data).choices[0]?.text ?? '').join('')));
    expect(texts[0]).toBe(texts[1]);
    expect(texts[0].startsWith(body.choices[0].text)).toBe(true);
  });

  it('sends an error event when the serving node dies mid-stream, then routes around it', async () => {
    const res = await edge.app.request(completion({ stream: true, max_tokens: 400, prompt: 'Once' }));
    const victim = res.headers.get('x-abq-backend')!.slice('node:'.length);
    const reader = res.body!.getReader();
    await reader.read(); // the first chunk has arrived: the node is mid-stream
    await nodes[victim].kill('SIGKILL');
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const events = text.split('\n\n').filter(Boolean);
    const last = JSON.parse(events.at(-1)!.slice('data: '.length));
    expect(last.error).toMatchObject({ type: 'server_error', code: 'backend_failed_mid_stream' });
    expect(text).not.toContain('[DONE]');
    const survivor = victim === 'a' ? 'b' : 'a';
    for (let i = 0; i < 3; i++) {
      const r = await edge.app.request(completion());
      expect(r.status).toBe(200);
      expect(r.headers.get('x-abq-backend')).toBe(`node:${survivor}`);
    }
    // Recovery: the node comes back on the same port; health checks bring it back into rotation.
    nodes[victim] = await startNodeProcess({ modelDir: STORIES260K_DIR!, port: nodes[victim].port });
    await waitFor(() => edge.runtime.registry.get(victim)!.status === 'up' && edge.runtime.registry.get(victim)!.breaker.canPass(), `${victim} back up`);
    const [r1, r2] = await Promise.all([edge.app.request(completion({ stream: true, max_tokens: 30 })), edge.app.request(completion({ stream: true, max_tokens: 30 }))]);
    expect(new Set([r1.headers.get('x-abq-backend'), r2.headers.get('x-abq-backend')])).toEqual(new Set(['node:a', 'node:b']));
    await Promise.all([r1.text(), r2.text()]);
  });

  it('retries on the other node when the preferred node died while idle (before health checks notice)', async () => {
    edge.runtime.health!.stop(); // freeze health state: the edge still believes both nodes are up
    const preferred = (await edge.app.request(completion())).headers.get('x-abq-backend')!.slice('node:'.length);
    const other = preferred === 'a' ? 'b' : 'a';
    await nodes[preferred].kill('SIGKILL');
    const before = edge.runtime.metrics.retries.get({ model: 'stories260K' });
    const res = await edge.app.request(completion());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-backend')).toBe(`node:${other}`);
    expect(res.headers.get('x-abq-retries')).toBe('1');
    expect(edge.runtime.metrics.retries.get({ model: 'stories260K' })).toBe(before + 1);
    expect(edge.runtime.registry.get(preferred)!.status).toBe('down');
    nodes[preferred] = await startNodeProcess({ modelDir: STORIES260K_DIR!, port: nodes[preferred].port });
    edge.runtime.health!.start();
    await waitFor(() => edge.runtime.registry.get(preferred)!.status === 'up', `${preferred} back up`);
  });

  it('falls back to the edge WASM engine when no node is left, and says so', async () => {
    await Promise.all([nodes.a.kill('SIGKILL'), nodes.b.kill('SIGKILL')]);
    const res = await edge.app.request(completion());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-served-by')).toBe('wasm');
    const metrics = await (await edge.app.request('/metrics', { headers: { authorization: 'Bearer sk-test-key-123456' } })).text();
    expect(metrics).toMatch(/served_by="wasm",status="200"/);
    expect(metrics).toMatch(/served_by="gpu",status="200"/);
    expect(metrics).toMatch(/abq_edge_node_failures_total\{node="[ab]",phase="mid_stream"\} 1/);
  });

  it('stops sending to a node whose requests fail (circuit breaker) when the edge has the wrong secret', async () => {
    const good = await startNodeProcess({ modelDir: STORIES260K_DIR! });
    try {
      const wrong = createEdgeApp({
        config: testConfig({ ABQ_NODE_SECRET: 'w'.repeat(40), ABQ_NODES: `x=${good.url}`, ABQ_RATE_LIMIT_PER_MINUTE: '0', ABQ_BREAKER_FAILURES: '2', ABQ_MAX_RETRIES: '0' }),
        models: [{ ...model }],
      });
      wrong.runtime.registry.get('x')!.declaredModels.push('stories260K');
      for (let i = 0; i < 2; i++) expect((await wrong.app.request(completion())).status).toBe(503);
      expect(wrong.runtime.registry.get('x')!.breaker.state).toBe('open');
      const res = await wrong.app.request(completion());
      expect(res.status).toBe(503);
      expect((await res.json()).error.message).not.toMatch(/HTTP 401/); // refused by the breaker, no request sent
      expect(good.output()).not.toMatch(/failed/);
    } finally {
      await good.kill();
    }
  });
});

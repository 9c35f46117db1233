/**
 * The edge over the node link (edge/link/) against two real node servers (WASM backend, the
 * shipped stories260K W4A8) on 127.0.0.1: streamed and non-streamed answers, the same text as over
 * HTTP, cancellation reaching the node, a node killed mid-stream (SSE error event) and while idle
 * (retry elsewhere), recovery on restart, a node without the link (HTTP fallback), and a wrong
 * secret (the link refused, the breaker opens). Metrics say which transport served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../shared/auth/node.ts';
import { createEdgeApp, type EdgeApp } from '../../edge/app.ts';
import { createNodeHttpFetch } from '../../edge/node-fetch.ts';
import { signRequestNode } from '../../edge/node-sign.ts';
import { createNodeLinks } from '../../edge/link/node-links.ts';
import { DEFAULT_MODEL_DIR, loadEdgeModel } from '../../edge/node-models.ts';
import type { ServedModel } from '../../edge/runtime-types.ts';
import { SIGNATURE_HEADER } from '../../shared/auth/index.ts';
import { post, readSseText, scriptedBackend, testConfig, TEST_KEY, TEST_SECRET } from './helpers/fixtures.ts';
import { startNodeProcess, type NodeProcess } from './helpers/node-process.ts';
import { allNodesUp, routingEnv, twoNodes, waitFor } from './helpers/two-nodes.ts';


const startNode = (opts: { port?: number; args?: string[]; secret?: string } = {}) => startNodeProcess({ modelDir: DEFAULT_MODEL_DIR, ...opts });

async function nodeHealth(n: NodeProcess): Promise<{ active: number; queue_depth: number }> {
  const sig = signRequestNode({ secret: TEST_SECRET, method: 'GET', path: '/health' });
  return (await fetch(`${n.url}/health`, { headers: { [SIGNATURE_HEADER]: sig } })).json();
}

describe('edge routing over the node link, two real nodes', () => {
  const nodes: Record<string, NodeProcess> = {};
  let edge: EdgeApp;
  let model: ServedModel;
  const completion = (extra: object = {}) => post('/v1/completions', { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 8, temperature: 0, ...extra });
  const metricsText = async (app = edge) => (await app.app.request('/metrics', { headers: { authorization: `Bearer ${TEST_KEY}` } })).text();
  const sentOver = async (node: string, transport: 'http' | 'link') => {
    const m = new RegExp(`abq_edge_node_requests_total\\{node="${node}",transport="${transport}"\\} (\\d+)`).exec(await metricsText());
    return Number(m?.[1] ?? NaN);
  };

  const makeEdge = (env: Record<string, string>) =>
    createEdgeApp({
      config: testConfig(routingEnv(env)),
      models: [model],
      localBackends: [scriptedBackend({ tokens: [403, 407, 261, 378] })],
      healthChecks: 'timer',
      fetch: createNodeHttpFetch(),
      sign: signRequestNode,
      link: createNodeLinks(env.ABQ_NODE_SECRET ?? TEST_SECRET),
    });

  beforeAll(async () => {
    model = (await loadEdgeModel({ id: 'stories260K', dir: DEFAULT_MODEL_DIR }, { wasmFallback: false })).served;
    [nodes.a, nodes.b] = await Promise.all([startNode(), startNode()]);
    edge = makeEdge({ ABQ_NODES: twoNodes(nodes) });
    await allNodesUp(edge);
  });

  afterAll(async () => {
    edge?.close();
    await Promise.all(Object.values(nodes).map((n) => n.kill()));
  });

  it('serves streamed and non-streamed completions over the link, with the same greedy text on either node', async () => {
    const res = await edge.app.request(completion());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-served-by')).toBe('gpu');
    const whole = (await res.json()).choices[0].text as string;
    expect(whole.length).toBeGreaterThan(5);
    const [r1, r2] = await Promise.all([edge.app.request(completion({ stream: true, max_tokens: 40 })), edge.app.request(completion({ stream: true, max_tokens: 40 }))]);
    expect(new Set([r1.headers.get('x-abq-backend'), r2.headers.get('x-abq-backend')])).toEqual(new Set(['node:a', 'node:b']));
    const events = await Promise.all([r1, r2].map(readSseText));
    const texts = events.map((ev) => ev.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data).choices[0]?.text ?? '').join(''));
    expect(events[0].at(-1)!.data).toBe('[DONE]');
    expect(texts[0]).toBe(texts[1]);
    expect(texts[0].startsWith(whole)).toBe(true);
    expect((await sentOver('a', 'link')) + (await sentOver('b', 'link'))).toBe(3);
    expect((await sentOver('a', 'http')) + (await sentOver('b', 'http'))).toBe(0);
    expect(await metricsText()).toMatch(/abq_edge_node_link_up\{node="a"\} 1/);
  });

  it('stops the generation on the node when the client goes away', async () => {
    const res = await edge.app.request(completion({ stream: true, max_tokens: 400, prompt: 'Once' }));
    const node = nodes[res.headers.get('x-abq-backend')!.slice('node:'.length)];
    const reader = res.body!.getReader();
    await reader.read();
    expect((await nodeHealth(node)).active).toBe(1);
    await reader.cancel();
    await waitFor(async () => (await nodeHealth(node)).active === 0, 'the node to stop generating');
    // The link is still usable afterwards.
    expect((await edge.app.request(completion())).status).toBe(200);
  });

  it('sends an error event when the serving node dies mid-stream, routes around it, and relinks after a restart', async () => {
    const res = await edge.app.request(completion({ stream: true, max_tokens: 400, prompt: 'Once' }));
    const victim = res.headers.get('x-abq-backend')!.slice('node:'.length);
    const survivor = victim === 'a' ? 'b' : 'a';
    const reader = res.body!.getReader();
    await reader.read();
    await nodes[victim].kill('SIGKILL');
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const last = JSON.parse(text.split('\n\n').filter(Boolean).at(-1)!.slice('data: '.length));
    expect(last.error).toMatchObject({ type: 'server_error', code: 'backend_failed_mid_stream' });
    expect(text).not.toContain('[DONE]');
    expect(edge.runtime.registry.get(victim)!.status).toBe('down');
    for (let i = 0; i < 3; i++) {
      const r = await edge.app.request(completion());
      expect(r.status).toBe(200);
      expect(r.headers.get('x-abq-backend')).toBe(`node:${survivor}`);
    }
    expect(await metricsText()).toMatch(new RegExp(`abq_edge_node_failures_total\\{node="${victim}",phase="mid_stream"\\} 1`));
    nodes[victim] = await startNode({ port: nodes[victim].port });
    await waitFor(() => edge.runtime.registry.get(victim)!.status === 'up' && edge.runtime.registry.get(victim)!.breaker.canPass(), `${victim} back up`);
    const before = await sentOver(victim, 'link');
    const [r1, r2] = await Promise.all([edge.app.request(completion({ stream: true, max_tokens: 30 })), edge.app.request(completion({ stream: true, max_tokens: 30 }))]);
    expect(new Set([r1.headers.get('x-abq-backend'), r2.headers.get('x-abq-backend')])).toEqual(new Set(['node:a', 'node:b']));
    await Promise.all([r1.text(), r2.text()]);
    expect(await sentOver(victim, 'link')).toBe(before + 1);
  });

  it('retries on the other node when the preferred node died while idle', async () => {
    edge.runtime.health!.stop(); // freeze health state: the edge still believes both nodes are up
    const preferred = (await edge.app.request(completion())).headers.get('x-abq-backend')!.slice('node:'.length);
    const other = preferred === 'a' ? 'b' : 'a';
    await nodes[preferred].kill('SIGKILL');
    const res = await edge.app.request(completion());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-backend')).toBe(`node:${other}`);
    expect(res.headers.get('x-abq-retries')).toBe('1');
    expect(edge.runtime.registry.get(preferred)!.status).toBe('down');
    nodes[preferred] = await startNode({ port: nodes[preferred].port });
    edge.runtime.health!.start();
    await waitFor(() => edge.runtime.registry.get(preferred)!.status === 'up', `${preferred} back up`);
  });

  it('uses HTTP for a node that does not offer the link', async () => {
    const plain = await startNode({ args: ['--disable-link'] });
    const solo = makeEdge({ ABQ_NODES: JSON.stringify([{ id: 'p', url: plain.url, models: ['stories260K'] }]) });
    try {
      await waitFor(() => solo.runtime.registry.get('p')!.status === 'up', 'p up');
      const r = await solo.app.request(completion());
      expect(r.status).toBe(200);
      expect(r.headers.get('x-abq-backend')).toBe('node:p');
      const s = await solo.app.request(completion({ stream: true, max_tokens: 20 }));
      expect((await s.text()).trimEnd().endsWith('data: [DONE]')).toBe(true);
      const m = await metricsText(solo);
      expect(m).toMatch(/abq_edge_node_requests_total\{node="p",transport="http"\} 2/);
      expect(m).toMatch(/abq_edge_node_requests_total\{node="p",transport="link"\} 0/);
    } finally {
      solo.close();
      await plain.kill();
    }
  });

  it('opens the breaker on a node that refuses the link (the edge holds the wrong secret)', async () => {
    const good = await startNode();
    const wrong = createEdgeApp({
      config: testConfig({ ABQ_NODE_SECRET: 'w'.repeat(40), ABQ_NODES: JSON.stringify([{ id: 'x', url: good.url, models: ['stories260K'] }]), ABQ_RATE_LIMIT_PER_MINUTE: '0', ABQ_BREAKER_FAILURES: '2', ABQ_MAX_RETRIES: '0' }),
      models: [model],
      fetch: createNodeHttpFetch(),
      sign: signRequestNode,
      link: createNodeLinks('w'.repeat(40)),
    });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await wrong.app.request(completion());
        expect(r.status).toBe(503);
        expect((await r.json()).error.message).toMatch(/refused the link.*authentication failed \(bad_mac\)/);
      }
      expect(wrong.runtime.registry.get('x')!.breaker.state).toBe('open');
      expect(wrong.runtime.registry.get('x')!.status).not.toBe('down'); // refused, not unreachable
      expect(good.output()).not.toMatch(/failed:|Error/);
    } finally {
      wrong.close();
      await good.kill();
    }
  });
});

/**
 * The node server over real HTTP on 127.0.0.1 with the WASM engine behind the scheduler (the shipped
 * stories260K W4A8): auth, streaming with logprobs, concurrent streams, refusals, cancellation
 * freeing KV blocks (seen in /health), and the scheduler's /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import '../../../shared/auth/node.ts';
import { REPO_ROOT } from '../../helpers/shared-data.ts';
import { createNodeApp, type NodeApp } from '../../../gpu-node/server/app.ts';
import { loadBackend } from '../../../gpu-node/server/load-backend.ts';
import { nodeRequestIO } from '../../../edge/node-request-io.ts';
import { loadWasmBackend } from '../../../edge/backends/wasm-node.ts';
import { signRequest, SIGNATURE_HEADER } from '../../../shared/auth/index.ts';
import { readSseText, TEST_SECRET } from '../../edge/helpers/fixtures.ts';
import type { InferenceBackend } from '../../../edge/backends/backend.ts';

const SHIPPED = path.join(REPO_ROOT, 'models', 'stories260K-w4a8');
/** 30 blocks of 16 = 480 positions: two 200-token streams fit, one request of 490 tokens cannot. */
const SIZES = { maxSeqs: 2, maxQueue: 0, numBlocks: 30, blockSize: 16 };

describe('gpu-node server over HTTP (WASM engine, scheduled)', () => {
  let node: NodeApp;
  let server: Server;
  let base: string;
  let local: InferenceBackend;

  const post = async (body: object, init: RequestInit = {}) => {
    const text = JSON.stringify({ model: 'stories260K', temperature: 0, top_p: 1, top_k: 0, ...body });
    const sig = await signRequest({ secret: TEST_SECRET, method: 'POST', path: '/v1/generate', body: text });
    return fetch(`${base}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sig }, body: text, ...init });
  };
  const get = async (p: string) => fetch(`${base}${p}`, { headers: { [SIGNATURE_HEADER]: await signRequest({ secret: TEST_SECRET, method: 'GET', path: p }) } });
  const health = async () => (await get('/health')).json();
  const tokensOf = async (res: Response) => (await readSseText(res)).filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as { token: number; logprob?: number });
  const localGreedy = async (tokens: number[], maxTokens: number) => {
    const out: number[] = [];
    for await (const { token } of local.generate({ model: 'stories260K', tokens, maxTokens, sampling: { temperature: 0, topP: 1, topK: 0 } })) out.push(token);
    return out;
  };
  async function until(cond: () => Promise<boolean>, what: string) {
    const deadline = Date.now() + 10_000;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  beforeAll(async () => {
    const { backend, modelIds } = await loadBackend('wasm', SHIPPED, 'stories260K', SIZES);
    node = createNodeApp({ backend, modelIds, secret: TEST_SECRET, requestIO: nodeRequestIO });
    server = serve({ fetch: node.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    local = await loadWasmBackend(SHIPPED, 'stories260K');
  });
  afterAll(async () => {
    server.closeAllConnections();
    server.close();
    await node.backend.close();
  });

  it('answers 401 without a valid signature', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(401);
    const res = await fetch(`${base}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: 'v1=0=nonsense' }, body: '{}' });
    expect(res.status).toBe(401);
  });

  it('streams the greedy tokens of the in-process WASM backend, with logprobs, two streams at once', async () => {
    const prompts = [[1, 403, 407, 261, 378], [1, 319, 44]];
    const [a, b] = await Promise.all(prompts.map((tokens) => post({ tokens, max_tokens: 24, logprobs: true }).then(tokensOf)));
    expect(a.map((t) => t.token)).toEqual(await localGreedy(prompts[0], 24));
    expect(b.map((t) => t.token)).toEqual(await localGreedy(prompts[1], 24));
    for (const t of [...a, ...b]) expect(t.logprob).toBeLessThanOrEqual(0);
  });

  it('refuses a request larger than the KV pool (400) and, with no queue allowed, a third stream (503)', async () => {
    const big = await post({ tokens: [1], max_tokens: 490 });
    expect(big.status).toBe(400);
    expect((await big.json()).error.message).toMatch(/needs 31 KV blocks of 16 tokens, more than this node's 30/);

    const first = await post({ tokens: [1], max_tokens: 200 });
    const second = await post({ tokens: [1, 403], max_tokens: 200 });
    const third = await post({ tokens: [1], max_tokens: 4 });
    expect(third.status).toBe(503);
    expect((await third.json()).error.code).toBe('queue_full');
    expect((await tokensOf(first)).length + (await tokensOf(second)).length).toBe(400);
  });

  it('a client leaving mid-stream frees its sequence and KV blocks (seen in /health)', async () => {
    const ac = new AbortController();
    const res = await post({ tokens: [1], max_tokens: 400 }, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    const during = await health();
    expect(during.active).toBe(1);
    expect(during.kv_blocks_free).toBeLessThan(30);
    ac.abort();
    await until(async () => {
      const h = await health();
      return h.active === 0 && h.kv_blocks_free === 30;
    }, 'the cancelled stream to free its blocks');
  });

  it('serves the scheduler metrics', async () => {
    const text = await (await get('/metrics')).text();
    for (const name of ['abq_node_running_sequences', 'abq_node_queue_depth', 'abq_node_kv_blocks_free', 'abq_node_preemptions_total']) {
      expect(text).toMatch(new RegExp(`^${name}\\{backend="wasm:stories260K"\\} \\d+`, 'm'));
    }
    expect(text).toMatch(/^abq_node_kv_blocks_total\{backend="wasm:stories260K"\} 30$/m);
    expect(text).toMatch(/^abq_node_batch_sequences_bucket\{le="2",backend="wasm:stories260K"\} [1-9]\d*/m);
    expect(text).toMatch(/^abq_node_batch_tokens_count\{backend="wasm:stories260K"\} [1-9]\d*/m);
    expect(text).toMatch(/^abq_node_step_seconds_count\{backend="wasm:stories260K"\} [1-9]\d*/m);
    expect(text).toMatch(/^abq_node_time_to_first_token_seconds_count\{backend="wasm:stories260K"\} [1-9]\d*/m);
    expect(text).toMatch(/^abq_node_requests_total\{outcome="queue_full",backend="wasm:stories260K"\} 1$/m);
    expect(text).toMatch(/^abq_node_requests_total\{outcome="cancelled",backend="wasm:stories260K"\} 1$/m);
  });
});

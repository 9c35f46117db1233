/**
 * The official openai npm client (v6) against the edge on Node (`startEdgeServer`, what `npm start`
 * runs): the packed stories260K shipped in models/ on the WASM engine, on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { startEdgeServer, type StartedEdge } from '../../edge/node.ts';
import { createEdgeApp } from '../../edge/app.ts';
import { parseEdgeConfig } from '../../edge/config.ts';
import { loadEdgeModel, parseModelDirs } from '../../edge/node-models.ts';
import { scriptedBackend } from '../edge/helpers/fixtures.ts';

const KEY = 'sk-e2e-key-0123456789';

describe('openai npm client against the edge (Node, WASM engine, shipped W4A8 model)', () => {
  let edge: StartedEdge;
  let client: OpenAI;

  beforeAll(async () => {
    edge = await startEdgeServer({ ABQ_API_KEYS: `e2e:${KEY}`, ABQ_RATE_LIMIT_PER_MINUTE: '0' }, { port: 0 });
    client = new OpenAI({ apiKey: KEY, baseURL: `${edge.url}/v1`, maxRetries: 0 });
  });
  afterAll(() => edge?.close());

  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['stories260K']);
  });

  it('completes, streamed and not, with the same greedy text', async () => {
    const params = { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 24, temperature: 0 };
    const full = await client.completions.create(params);
    expect(full.choices[0].text.length).toBeGreaterThan(10);
    expect(full.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 24, total_tokens: 29 });
    let streamed = '';
    let finish: string | null = null;
    for await (const chunk of await client.completions.create({ ...params, stream: true })) {
      streamed += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(streamed).toBe(full.choices[0].text);
    expect(finish).toBe('length');
  });

  it('chats, streamed with usage and not, seeded sampling reproducible', async () => {
    const params = { model: 'stories260K', messages: [{ role: 'user' as const, content: 'Tell me about a cat.' }], max_tokens: 20, temperature: 0.8, top_p: 0.95, seed: 11 };
    const a = await client.chat.completions.create(params);
    expect(a.object).toBe('chat.completion');
    expect(a.choices[0].message.role).toBe('assistant');
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } })) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(a.choices[0].message.content);
    expect(usage?.completion_tokens).toBe(a.usage?.completion_tokens);
  });

  it('raises typed errors: bad key, bad parameter, unknown model', async () => {
    const bad = new OpenAI({ apiKey: 'sk-wrong-key-000000', baseURL: `${edge.url}/v1`, maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const err = await client.completions.create({ model: 'stories260K', prompt: 'x', temperature: 5 }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe('temperature');
    await expect(client.completions.create({ model: 'nope', prompt: 'x' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('surfaces a mid-stream backend failure as an APIError from the stream', async () => {
    const [model] = await Promise.all(parseModelDirs(undefined).map((s) => loadEdgeModel(s, { wasmFallback: false })));
    const failing = createEdgeApp({
      config: parseEdgeConfig({ ABQ_API_KEYS: `e2e:${KEY}` }),
      models: [model.served],
      localBackends: [scriptedBackend({ tokens: [403, 407, 261, 378, 403, 407], failAfter: 3 })],
    });
    const server = serve({ fetch: failing.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
    await new Promise((r) => server.once('listening', r));
    try {
      const c = new OpenAI({ apiKey: KEY, baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, maxRetries: 0 });
      const pieces: string[] = [];
      const run = async () => {
        for await (const chunk of await c.completions.create({ model: 'stories260K', prompt: 'x', stream: true })) pieces.push(chunk.choices[0]?.text ?? '');
      };
      const err = await run().catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(String(err.message)).toMatch(/failed mid-stream/);
      expect(pieces.length).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });
});

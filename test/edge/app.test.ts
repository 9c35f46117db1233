/** The OpenAI-compatible API on app.request (no server): shapes, SSE, stop handling, detokenization. */
import { expect, it } from 'vitest';
import { describeWithShared } from '../helpers/shared-data.ts';
import { createEdgeApp } from '../../edge/app.ts';
import { post, readSseText, scriptedBackend, storiesModel, storiesTokenizer, testConfig } from './helpers/fixtures.ts';

describeWithShared('edge API (app.request, scripted WASM backend)', () => {
  const tokenizer = storiesTokenizer();
  const story = tokenizer.encode('Once upon a time, there was a little girl.', { addBos: false });
  const make = (tokens = story, extra: { failAfter?: number } = {}) => {
    const backend = scriptedBackend({ tokens, ...extra });
    const edge = createEdgeApp({ config: testConfig(), models: [storiesModel(tokenizer)], localBackends: [backend] });
    return { app: edge.app, backend, edge };
  };

  it('answers a non-streamed completion in the OpenAI shape, naming the path that served', async () => {
    const { app, backend } = make();
    const res = await app.request(post('/v1/completions', { model: 'stories260K', prompt: 'Hello', max_tokens: 100, temperature: 0.5, top_p: 0.9, top_k: 40, seed: 7 }));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-abq-served-by')).toBe('wasm');
    expect(res.headers.get('x-abq-backend')).toBe('wasm:scripted');
    const body = await res.json();
    expect(body).toMatchObject({ object: 'text_completion', model: 'stories260K', choices: [{ index: 0, text: tokenizer.decode(story), finish_reason: 'stop' }] });
    expect(body.id).toMatch(/^cmpl-/);
    expect(body.usage).toEqual({ prompt_tokens: 1 + tokenizer.encode('Hello', { addBos: false }).length, completion_tokens: story.length, total_tokens: body.usage.prompt_tokens + story.length });
    expect(backend.calls[0].sampling).toEqual({ temperature: 0.5, topP: 0.9, topK: 40, seed: 7 });
    expect(backend.calls[0].tokens[0]).toBe(1); // BOS added at the edge
  });

  it('stops at max_tokens with finish_reason length', async () => {
    const { app } = make();
    const body = await (await app.request(post('/v1/completions', { model: 'stories260K', prompt: 'Hi', max_tokens: 3 }))).json();
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(3);
    expect(body.choices[0].text).toBe(tokenizer.decode(story.slice(0, 3)));
  });

  it('streams chat chunks as SSE with role first, finish_reason, usage and [DONE]', async () => {
    const { app } = make();
    const res = await app.request(post('/v1/chat/completions', { model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readSseText(res);
    expect(events.at(-1)!.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
    expect(chunks[0].object).toBe('chat.completion.chunk');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.every((c) => c.id === chunks[0].id)).toBe(true);
    const text = chunks.flatMap((c) => c.choices).map((ch) => ch.delta?.content ?? '').join('');
    expect(text).toBe(tokenizer.decode(story));
    const end = chunks.at(-2);
    expect(end.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: story.length } });
  });

  it('ends at EOS without printing it', async () => {
    const { app } = make([...story.slice(0, 4), 2, ...story.slice(4)]);
    const body = await (await app.request(post('/v1/completions', { model: 'stories260K', prompt: 'Hi', max_tokens: 50 }))).json();
    expect(body.choices[0]).toMatchObject({ text: tokenizer.decode(story.slice(0, 4)), finish_reason: 'stop' });
    expect(body.usage.completion_tokens).toBe(5);
  });

  it('cuts at a stop string that spans tokens, in both modes, and aborts the backend', async () => {
    const full = tokenizer.decode(story);
    const stopAt = full.indexOf('re was');
    for (const stream of [false, true]) {
      const { app, backend } = make();
      const res = await app.request(post('/v1/completions', { model: 'stories260K', prompt: 'Hi', stop: ['re was', 'zzz'], stream }));
      let text: string;
      let finish: string;
      if (stream) {
        const chunks = (await readSseText(res)).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
        text = chunks.map((c) => c.choices[0]?.text ?? '').join('');
        finish = chunks.at(-1).choices[0].finish_reason;
      } else {
        const body = await res.json();
        text = body.choices[0].text;
        finish = body.choices[0].finish_reason;
      }
      expect(text).toBe(full.slice(0, stopAt));
      expect(finish).toBe('stop');
      expect(backend.calls[0].signal?.aborted).toBe(true);
    }
  });

  it('aborts the backend when the client goes away mid-stream', async () => {
    const { app, backend } = make(Array.from({ length: 200 }, () => story[0]));
    const client = new AbortController();
    const req = post('/v1/completions', { model: 'stories260K', prompt: 'x', stream: true, max_tokens: 200 });
    const res = await app.request(new Request(req, { signal: client.signal }));
    const reader = res.body!.getReader();
    await reader.read(); // streaming has begun
    expect(backend.calls[0].signal?.aborted).toBe(false);
    client.abort(new Error('client left'));
    await new Promise((r) => setTimeout(r, 20));
    expect(backend.calls[0].signal?.aborted).toBe(true);
    expect(String(backend.calls[0].signal?.reason)).toMatch(/client left/);
  });

  it('streams multi-byte characters spelled as byte tokens without broken pieces', async () => {
    const ids = tokenizer.encode('Tom saw a 🐶 and said 你好!', { addBos: false });
    expect(ids.length).toBeGreaterThan(10); // byte fallback: the emoji and CJK become <0x..> tokens
    const { app } = make(ids);
    const events = await readSseText(await app.request(post('/v1/completions', { model: 'stories260K', prompt: 'x', stream: true })));
    const pieces = events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data).choices[0].text as string);
    expect(pieces.join('')).toBe(tokenizer.decode(ids));
    expect(pieces.join('')).toContain('🐶');
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
  });

  it('sends an OpenAI error event and no [DONE] when the backend dies mid-stream', async () => {
    const { app } = make(story, { failAfter: 3 });
    const events = await readSseText(await app.request(post('/v1/completions', { model: 'stories260K', prompt: 'x', stream: true })));
    const last = JSON.parse(events.at(-1)!.data);
    expect(last.error).toMatchObject({ type: 'server_error', code: 'backend_failed_mid_stream' });
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
    expect(events.length).toBeGreaterThan(1);
  });

  it('answers 502 for a non-streamed request whose backend dies', async () => {
    const { app } = make(story, { failAfter: 3 });
    const res = await app.request(post('/v1/completions', { model: 'stories260K', prompt: 'x' }));
    expect(res.status).toBe(502);
    expect((await res.json()).error.code).toBe('backend_failed');
  });

  it('lists models, reports health and counts the serving path in metrics', async () => {
    const { app } = make();
    const models = await (await app.request('/v1/models', { headers: { authorization: 'Bearer sk-test-key-123456' } })).json();
    expect(models).toMatchObject({ object: 'list', data: [{ id: 'stories260K', object: 'model', wasm_fallback: true, gpu_nodes: 0 }] });
    const health = await (await app.request('/healthz')).json();
    expect(health).toMatchObject({ status: 'ok', servable_models: ['stories260K'], wasm: [{ id: 'wasm:scripted' }] });
    await app.request(post('/v1/completions', { model: 'stories260K', prompt: 'x', max_tokens: 2 }));
    const metrics = await (await app.request('/metrics', { headers: { authorization: 'Bearer sk-test-key-123456' } })).text();
    expect(metrics).toMatch(/abq_edge_requests_total\{endpoint="completions",served_by="wasm",status="200"\} 1/);
    expect(metrics).toMatch(/abq_edge_generated_tokens_total\{model="stories260K",served_by="wasm"\} 2/);
  });

  it('serves the playground page at /', async () => {
    const { app } = make();
    const res = await app.request('/');
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('abq-serve playground');
  });
});

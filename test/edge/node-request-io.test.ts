/**
 * The Node fast paths behind the edge and node servers: edge/node-request-io.ts (body and client
 * abort read from node:http directly) and edge/node-fetch.ts (light responses, streamed reader),
 * over real sockets with @hono/node-server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { nodeRequestIO } from '../../edge/node-request-io.ts';
import { createNodeHttpFetch } from '../../edge/node-fetch.ts';
import { ApiError, toApiError } from '../../edge/errors.ts';
import { apiCors, jsonResponse } from '../../edge/middleware/cors.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
});

async function listen(handler: http.RequestListener | Hono): Promise<string> {
  const server = (handler instanceof Hono ? serve({ fetch: handler.fetch, port: 0, hostname: '127.0.0.1' }) : http.createServer(handler).listen(0, '127.0.0.1')) as http.Server;
  servers.push(server);
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('nodeRequestIO', () => {
  const app = new Hono();
  let aborted: Promise<unknown> | undefined;
  app.post('/echo', async (c) => c.json({ text: await nodeRequestIO.text(c, 64), again: await nodeRequestIO.text(c, 64) }));
  app.post('/slow', async (c) => {
    const signal = nodeRequestIO.signal(c);
    aborted = new Promise((r) => signal.addEventListener('abort', () => r(signal.reason)));
    await aborted;
    return c.text('late');
  });
  let gone: Promise<Error> | undefined;
  const goneCalls: Error[] = [];
  app.post('/slow-callback', async (c) => {
    gone = new Promise((r) => nodeRequestIO.onClientGone(c, r));
    await gone;
    return c.text('late');
  });
  app.post('/quick-callback', (c) => {
    nodeRequestIO.onClientGone(c, (e) => goneCalls.push(e));
    return c.text('done');
  });
  app.onError((e) => toApiError(e).getResponse());

  it('reads the body once (cached) from the socket, multi-byte text intact', async () => {
    const url = await listen(app);
    const res = await fetch(`${url}/echo`, { method: 'POST', body: 'héllo wörld' });
    expect(await res.json()).toEqual({ text: 'héllo wörld', again: 'héllo wörld' });
  });

  it('reads a body still arriving when the handler asks (the streamed path), and one over the limit as a 413', async () => {
    const url = new URL(await listen(app));
    const send = (parts: string[]) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: url.hostname, port: url.port, path: '/echo', method: 'POST' }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.write(parts[0]);
        setTimeout(() => req.end(parts[1]), 50); // the handler is waiting by then
      });
    expect(await send(['héllo ', 'wörld'])).toEqual({ status: 200, body: JSON.stringify({ text: 'héllo wörld', again: 'héllo wörld' }) });
    const big = await send(['x'.repeat(40), 'y'.repeat(40)]);
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error.code).toBe('request_too_large');
  });

  it('refuses a chunked body over the limit with a 413', async () => {
    const url = await listen(app);
    const body = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('x'.repeat(100))), c.close()) });
    const res = await fetch(`${url}/echo`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('request_too_large');
  });

  it('aborts the signal when the client goes away before the answer', async () => {
    const url = await listen(app);
    const ac = new AbortController();
    const pending = fetch(`${url}/slow`, { method: 'POST', body: '{}', signal: ac.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await pending;
    expect(String(await aborted)).toMatch(/client closed/);
  });

  it('calls an onClientGone listener when the client goes away, and not after a finished answer', async () => {
    const url = await listen(app);
    const ac = new AbortController();
    const pending = fetch(`${url}/slow-callback`, { method: 'POST', body: '{}', signal: ac.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await pending;
    expect((await gone)!.message).toMatch(/client closed/);
    const res = await fetch(`${url}/quick-callback`, { method: 'POST', body: '{}' });
    expect(await res.text()).toBe('done');
    await new Promise((r) => setTimeout(r, 50));
    expect(goneCalls).toEqual([]);
  });
});

describe('createNodeHttpFetch', () => {
  it('returns status, text and json, and streams a body chunk by chunk through getReader', async () => {
    const url = await listen((req, res) => {
      if (req.url === '/json') return void res.writeHead(201, { 'content-type': 'application/json' }).end('{"a":1}');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const tick = setInterval(() => (i < 3 ? res.write(`data: ${i++}\n\n`) : (clearInterval(tick), res.end())), 5);
    });
    const f = createNodeHttpFetch();
    try {
      const j = await f(`${url}/json`);
      expect(j.status).toBe(201);
      expect(await j.json()).toEqual({ a: 1 });
      const s = await f(`${url}/sse`, { method: 'POST', body: 'x', headers: { accept: 'text/event-stream' } });
      const reader = s.body!.getReader();
      let text = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
      expect(text).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\n');
      expect(() => s.body!.getReader()).toThrow(/already read/);
    } finally {
      f.close();
    }
  });

  it('rejects a pending read when the node dies mid-response, and honours an abort signal', async () => {
    const url = await listen((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 0\n\n');
      if (req.url === '/die') setTimeout(() => res.socket?.destroy(), 20);
    });
    const f = createNodeHttpFetch();
    try {
      const reader = (await f(`${url}/die`)).body!.getReader();
      expect((await reader.read()).done).toBe(false);
      await expect(reader.read()).rejects.toThrow();
      const ac = new AbortController();
      const hang = (await f(`${url}/hang`, { signal: ac.signal })).body!.getReader();
      await hang.read();
      ac.abort();
      await expect(hang.read()).rejects.toThrow();
    } finally {
      f.close();
    }
  });
});

describe('apiCors', () => {
  it('jsonResponse keeps its headers one plain record through @hono/node-server, CORS included', async () => {
    const app = new Hono();
    app.use('*', apiCors({ allowHeaders: ['authorization'], exposeHeaders: ['x-abq-backend'] }));
    app.post('/fast', (c) => jsonResponse(c, { auth: nodeRequestIO.header(c, 'authorization') ?? null }, 200, { 'x-abq-backend': 'node:a' }));
    const url = await listen(app);
    const res = await fetch(`${url}/fast`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{}' });
    expect(await res.json()).toEqual({ auth: 'Bearer k' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toBe('x-abq-backend');
    expect(res.headers.get('x-abq-backend')).toBe('node:a');
    expect(res.headers.get('content-length')).toBe(String('{"auth":"Bearer k"}'.length));
  });

  const app = new Hono();
  app.use('*', apiCors({ allowHeaders: ['authorization', 'content-type'], exposeHeaders: ['x-abq-served-by'] }));
  app.get('/ok', (c) => c.json({ ok: true }, 200, { 'x-abq-served-by': 'gpu' }));
  app.get('/fast', (c) => jsonResponse(c, { ok: true }, 201, { 'x-abq-served-by': 'gpu' }));
  app.get('/fail', () => {
    throw new ApiError('no', { type: 'authentication_error', code: 'missing_api_key' });
  });
  app.onError((e) => toApiError(e).getResponse());

  it('adds the CORS headers to answers and errors, and answers preflights', async () => {
    for (const path of ['/ok', '/fail']) {
      const res = await app.request(path, { headers: { origin: 'https://example.com' } });
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-expose-headers')).toBe('x-abq-served-by');
    }
    const fast = await app.request('/fast');
    expect(fast.status).toBe(201);
    expect(await fast.json()).toEqual({ ok: true });
    expect(Object.fromEntries(fast.headers)).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-expose-headers': 'x-abq-served-by', 'content-type': 'application/json', 'x-abq-served-by': 'gpu' });
    const pre = await app.request('/ok', { method: 'OPTIONS', headers: { origin: 'https://example.com', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
  });
});

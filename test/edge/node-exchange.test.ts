/**
 * edge/node-exchange.ts through edge/node-fetch.ts (undici Pool.dispatch) against real node:http
 * servers: bodies in many chunks, backpressure on a slow reader, aborts before and during a
 * request, cancel, and failures before the response head.
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeHttpFetch } from '../../edge/node-fetch.ts';

const servers: http.Server[] = [];
const fetches: ReturnType<typeof createNodeHttpFetch>[] = [];
afterEach(async () => {
  for (const f of fetches.splice(0)) f.close();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))));
});

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise<void>((r) => server.once('listening', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function nodeFetch() {
  const f = createNodeHttpFetch();
  fetches.push(f);
  return f;
}

async function readAll(body: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }> } }): Promise<Buffer> {
  const reader = body.getReader();
  const parts: Buffer[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(Buffer.from(r.value!));
  return Buffer.concat(parts);
}

describe('NodeExchange', () => {
  it('joins a body written in many chunks, multi-byte characters split across them', async () => {
    const text = 'é🐶'.repeat(5000);
    const bytes = Buffer.from(text);
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let at = 0; at < bytes.length; at += 999) res.write(bytes.subarray(at, at + 999));
      res.end();
    });
    const res = await nodeFetch()(`${url}/x`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('text/plain');
    expect(await res.text()).toBe(text);
  });

  it('pauses the socket while a reader lags, then delivers every byte in order', async () => {
    const CHUNK = 64 * 1024;
    const CHUNKS = 512; // 32 MiB: far more than the exchange queue (64 KiB) and socket buffers hold
    let written = 0;
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const more = () => {
        while (written < CHUNKS) {
          const chunk = Buffer.alloc(CHUNK, written & 0xff);
          written++;
          if (!res.write(chunk)) return void res.once('drain', more); // the client stopped reading
        }
        res.end();
      };
      more();
    });
    const res = await nodeFetch()(`${url}/big`);
    await new Promise((r) => setTimeout(r, 200)); // a slow reader: nothing read yet
    const writtenBeforeReading = written;
    const got = await readAll(res.body!);
    expect(writtenBeforeReading).toBeLessThan(CHUNKS); // the server was held back
    expect(got.length).toBe(CHUNK * CHUNKS);
    for (let i = 0; i < CHUNKS; i++) expect(got[i * CHUNK]).toBe(i & 0xff);
  });

  it('rejects at once for a signal aborted before the call, and with the reason for one aborted while queued', async () => {
    let seen = 0;
    const url = await listen((_req, res) => {
      seen++;
      res.end('late');
    });
    const f = nodeFetch();
    const early = new AbortController();
    early.abort(new Error('gone before'));
    await expect(f(`${url}/a`, { signal: early.signal })).rejects.toThrow('gone before');
    const mid = new AbortController();
    const pending = f(`${url}/b`, { signal: mid.signal });
    mid.abort(new Error('gone while queued'));
    await expect(pending).rejects.toThrow('gone while queued');
    expect(seen).toBeLessThanOrEqual(1);
  });

  it('cancel() closes a half-read response; a reused fetch then still works', async () => {
    const url = await listen((req, res) => {
      if (req.url === '/ok') return void res.end('fine');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 0\n\n');
    });
    const f = nodeFetch();
    const reader = (await f(`${url}/stream`)).body!.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel();
    expect((await reader.read()).done).toBe(true);
    expect(await (await f(`${url}/ok`)).text()).toBe('fine');
  });

  it('rejects when the node is unreachable or drops the connection before answering', async () => {
    const url = await listen((req) => req.socket.destroy());
    const f = nodeFetch();
    await expect(f(`${url}/x`, { method: 'POST', body: '{}' })).rejects.toThrow();
    const closed = await listen(() => undefined);
    servers.pop()!.close();
    await expect(f(`${closed}/x`)).rejects.toThrow();
  });

  it('refuses a URL that is not http(s), naming it', async () => {
    expect(() => nodeFetch()('ftp://10.0.0.1/x')).toThrow(/ftp:\/\/10\.0\.0\.1\/x/);
  });
});

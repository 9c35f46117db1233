/**
 * Node-only: a fetch for edge-to-node calls over node:http with a keep-alive agent. Node 20's global
 * fetch (undici) costs several hundred microseconds of CPU per loopback request, most of the edge's
 * budget; node:http does the same round trip for much less. It covers exactly what RemoteNodeBackend
 * and HealthChecker use (method, headers, string body, AbortSignal; streamed response body).
 */
import http from 'node:http';
import type { FetchLike } from './backends/remote-node.ts';

/** Sockets kept open per node; enough for the concurrency one edge process sends to one node. */
const MAX_SOCKETS_PER_NODE = 256;

export function createNodeHttpFetch(): FetchLike & { close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_NODE, scheduling: 'lifo' });
  const fetchImpl = (input: string, init: RequestInit = {}): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input);
      if (url.protocol !== 'http:') return resolve(fetch(input, init)); // https nodes: the global fetch
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason);
      const body = init.body === undefined || init.body === null ? undefined : String(init.body);
      const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: init.method ?? 'GET', headers }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        const status = res.statusCode ?? 502;
        const stream = status === 204 || status === 304 ? null : webStreamOf(res);
        resolve(new Response(stream, { status, headers: h }));
      });
      // Small writes (one SSE event, one request) must not wait for Nagle's algorithm.
      req.once('socket', (socket) => socket.setNoDelay(true));
      const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal?.removeEventListener('abort', onAbort));
      req.once('error', reject);
      req.end(body);
    });
  return Object.assign(fetchImpl, { close: () => agent.destroy() });
}

/**
 * The response body as a web ReadableStream. Hand-rolled because Readable.toWeb costs ~70 us per
 * response in makeTransferable bookkeeping; this one pauses the socket when the consumer lags.
 */
function webStreamOf(res: http.IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        if (err) controller.error(err);
        else controller.close();
      };
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) res.pause();
      });
      res.once('end', () => finish());
      res.once('error', (e) => finish(e));
      res.once('aborted', () => finish(new Error('connection to the node closed mid-response')));
    },
    pull() {
      res.resume();
    },
    cancel() {
      res.destroy();
    },
  });
}

/**
 * Node-only: a fetch for edge-to-node calls over node:http with a keep-alive agent. Node 20's global
 * fetch (undici) costs several hundred microseconds of CPU per loopback request, most of the edge's
 * budget; node:http does the same round trip for much less. It covers exactly what RemoteNodeBackend
 * and HealthChecker use (method, headers, string body, AbortSignal; a streamed body read through
 * `getReader()`, `text()`, `json()`), and answers with a light FetchedResponse instead of a web
 * Response: building a Response over a ReadableStream (undici's extractBody, makeTransferable)
 * measured as several percent of the edge's CPU per request (docs/EDGE.md, "Performance").
 */
import http from 'node:http';
import type { FetchLike, FetchedResponse } from './backends/remote-node.ts';
import type { ByteReader, ByteSource } from './lib/sse-reader.ts';

/** Sockets kept open per node; enough for the concurrency one edge process sends to one node. */
const MAX_SOCKETS_PER_NODE = 256;

export function createNodeHttpFetch(): FetchLike & { close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_NODE, scheduling: 'lifo' });
  const fetchImpl = (input: string, init: RequestInit = {}): Promise<FetchedResponse> =>
    new Promise<FetchedResponse>((resolve, reject) => {
      const url = new URL(input);
      if (url.protocol !== 'http:') return resolve(fetch(input, init)); // https nodes: the global fetch
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason);
      const body = init.body === undefined || init.body === null ? undefined : String(init.body);
      const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: init.method ?? 'GET', headers }, (res) => {
        resolve(new NodeHttpResponse(res));
      });
      // Small writes (one SSE event, one request) must not wait for Nagle's algorithm.
      req.once('socket', (socket) => socket.setNoDelay(true));
      if (signal) {
        const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
        signal.addEventListener('abort', onAbort, { once: true });
        req.once('close', () => signal.removeEventListener('abort', onAbort));
      }
      req.once('error', reject);
      req.end(body);
    });
  return Object.assign(fetchImpl, { close: () => agent.destroy() });
}

class NodeHttpResponse implements FetchedResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  private used = false;

  constructor(private readonly res: http.IncomingMessage) {
    this.status = res.statusCode ?? 502;
    this.headers = {
      get: (name) => {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    };
  }

  get body(): ByteSource | null {
    if (this.status === 204 || this.status === 304) return null;
    return { getReader: () => this.take(() => new IncomingReader(this.res)) };
  }

  text(): Promise<string> {
    return this.take(
      () =>
        new Promise<string>((resolve, reject) => {
          const chunks: Buffer[] = [];
          this.res.on('data', (c: Buffer) => chunks.push(c));
          this.res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          this.res.once('error', reject);
          this.res.once('aborted', () => reject(new Error('connection to the node closed mid-response')));
        }),
    );
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  private take<T>(read: () => T): T {
    if (this.used) throw new TypeError('the response body was already read');
    this.used = true;
    return read();
  }
}

/**
 * Reads an IncomingMessage chunk by chunk, like a ReadableStream reader: chunks that arrive before
 * read() is called are queued and the socket is paused, so a slow consumer applies backpressure.
 */
class IncomingReader implements ByteReader {
  private readonly queue: Buffer[] = [];
  private waiting: { resolve(r: { done: boolean; value?: Uint8Array }): void; reject(e: Error): void } | undefined;
  private ended = false;
  private error: Error | undefined;

  constructor(private readonly res: http.IncomingMessage) {
    res.on('data', (chunk: Buffer) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve({ done: false, value: chunk });
      } else {
        this.queue.push(chunk);
        res.pause();
      }
    });
    res.once('end', () => this.finish());
    res.once('error', (e) => this.finish(e));
    res.once('aborted', () => this.finish(new Error('connection to the node closed mid-response')));
  }

  read(): Promise<{ done: boolean; value?: Uint8Array }> {
    const next = this.queue.shift();
    if (next) {
      if (this.queue.length === 0 && !this.ended) this.res.resume();
      return Promise.resolve({ done: false, value: next });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  cancel(): Promise<void> {
    this.finish();
    this.res.destroy();
    return Promise.resolve();
  }

  releaseLock(): void {}

  private finish(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    const w = this.waiting;
    this.waiting = undefined;
    if (w) {
      if (err) w.reject(err);
      else w.resolve({ done: true });
    }
  }
}

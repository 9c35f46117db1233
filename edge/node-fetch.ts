/**
 * Node-only: a fetch for edge-to-node calls over undici's `Pool.request()`, one keep-alive pool per
 * node origin. Node 20's global fetch (also undici) costs several hundred microseconds of CPU per
 * loopback request (WHATWG Request/Response, streams), most of the edge's budget; `request()` skips
 * all of that, and measured about 20% less client CPU per round trip than node:http's
 * `http.request` here (docs/EDGE.md, "Performance"). It covers exactly what RemoteNodeBackend and
 * HealthChecker use (method, headers, string body, AbortSignal; a streamed body read through
 * `getReader()`, `text()`, `json()`), and answers with a light FetchedResponse, not a web Response.
 */
import { Pool } from 'undici';
import type { Readable } from 'node:stream';
import type { FetchLike, FetchedResponse } from './backends/remote-node.ts';
import type { ByteReader, ByteSource } from './lib/sse-reader.ts';

/** Connections kept open per node; enough for the concurrency one edge process sends to one node. */
const MAX_CONNECTIONS_PER_NODE = 256;
/** Idle connections are closed after this; below the node server's own keep-alive timeout (5 s). */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;

type Headers = Record<string, string | string[] | undefined>;

export function createNodeHttpFetch(): FetchLike & { close(): void } {
  const pools = new Map<string, { pool: Pool; path: (input: string) => string }>();
  const poolFor = (input: string) => {
    // Node URLs are few and fixed (registry entries): parse each origin once, not per request.
    const origin = originOf(input);
    let entry = pools.get(origin);
    if (!entry) {
      const pool = new Pool(origin, { connections: MAX_CONNECTIONS_PER_NODE, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS });
      entry = { pool, path: (s) => s.slice(origin.length) || '/' };
      pools.set(origin, entry);
    }
    return entry;
  };
  const fetchImpl = async (input: string, init: RequestInit = {}): Promise<FetchedResponse> => {
    const { pool, path } = poolFor(input);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw signal.reason;
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const res = await pool.request({ path: path(input), method: (init.method ?? 'GET') as 'GET', headers: init.headers as Record<string, string> | undefined, body, signal });
    return new PooledResponse(res.statusCode, res.headers, res.body);
  };
  return Object.assign(fetchImpl, {
    close: () => {
      for (const { pool } of pools.values()) void pool.destroy().catch(() => undefined);
      pools.clear();
    },
  });
}

/** `scheme://host[:port]` of an absolute http(s) URL, by string scanning (no URL object per request). */
function originOf(input: string): string {
  const scheme = input.indexOf('://');
  const end = input.indexOf('/', scheme + 3);
  const origin = end < 0 ? input : input.slice(0, end);
  if (!origin.startsWith('http://') && !origin.startsWith('https://')) throw new TypeError(`node URL must be http:// or https://; got '${input}'`);
  return origin;
}

/** `get()` over undici's header record; a class rather than a closure per response (closures cost a defineProperty each under tsx's keepNames). */
class HeaderView {
  constructor(private readonly record: Headers) {}
  get(name: string): string | null {
    const v = this.record[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
}

class PooledResponse implements FetchedResponse {
  readonly headers: HeaderView;
  private used = false;

  constructor(
    readonly status: number,
    headers: Headers,
    private readonly stream: Readable & { text(): Promise<string>; dump(): Promise<void> },
  ) {
    this.headers = new HeaderView(headers);
  }

  get body(): ByteSource | null {
    if (this.status === 204 || this.status === 304) return null;
    return { getReader: () => this.take(() => new ReadableReader(this.stream)) };
  }

  text(): Promise<string> {
    return this.take(() => this.stream.text());
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
 * Reads a Node Readable chunk by chunk, like a ReadableStream reader: chunks that arrive before
 * read() is called are queued and the stream is paused, so a slow consumer applies backpressure.
 */
class ReadableReader implements ByteReader {
  private readonly queue: Buffer[] = [];
  private waiting: { resolve(r: { done: boolean; value?: Uint8Array }): void; reject(e: Error): void } | undefined;
  private ended = false;
  private error: Error | undefined;

  constructor(private readonly stream: Readable) {
    stream.on('data', (chunk: Buffer) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve({ done: false, value: chunk });
      } else {
        this.queue.push(chunk);
        stream.pause();
      }
    });
    stream.once('end', () => this.finish());
    stream.once('error', (e) => this.finish(e));
    stream.once('close', () => this.finish(this.ended ? undefined : new Error('connection to the node closed mid-response')));
  }

  read(): Promise<{ done: boolean; value?: Uint8Array }> {
    const next = this.queue.shift();
    if (next) {
      if (this.queue.length === 0 && !this.ended) this.stream.resume();
      return Promise.resolve({ done: false, value: next });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  cancel(): Promise<void> {
    this.finish();
    this.stream.destroy();
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

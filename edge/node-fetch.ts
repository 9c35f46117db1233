/**
 * Node-only: a fetch for edge-to-node calls over undici's low-level `Pool.dispatch()`, one keep-alive
 * pool per node origin. Node 20's global fetch (also undici) costs several hundred microseconds of
 * CPU per loopback request (WHATWG Request/Response, streams), most of the edge's budget. undici's
 * `request()` skips those but still builds, per call, an AsyncResource, an abort listener and a
 * stream.Readable body that text() then drains through stream events; `dispatch()` with the small
 * handler below (NodeExchange) hands the chunks straight to whoever reads them, which measured
 * about 60 us less edge CPU per request at 1,000 req/s (docs/BENCHMARKS.md, edge section).
 * It covers exactly what RemoteNodeBackend and HealthChecker use (method, headers, string body,
 * AbortSignal; a streamed body read through `getReader()`, `text()`, `json()`), and answers with a
 * light FetchedResponse, not a web Response.
 */
import { Pool } from 'undici';
import type { FetchLike, FetchedResponse } from './backends/remote-node.ts';
import { NodeExchange } from './node-exchange.ts';

/** Connections kept open per node; enough for the concurrency one edge process sends to one node. */
const MAX_CONNECTIONS_PER_NODE = 256;
/** Idle connections are closed after this; below the node server's own keep-alive timeout (5 s). */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;

interface NodePool {
  pool: Pool;
  /** Length of `scheme://host[:port]`, to cut the path off a URL without parsing it. */
  originLength: number;
}

export function createNodeHttpFetch(): FetchLike & { close(): void } {
  const pools = new Map<string, NodePool>();
  const poolFor = (input: string): NodePool => {
    // Node URLs are few and fixed (registry entries): parse each origin once, not per request.
    const origin = originOf(input);
    let entry = pools.get(origin);
    if (!entry) {
      entry = { pool: new Pool(origin, { connections: MAX_CONNECTIONS_PER_NODE, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }), originLength: origin.length };
      pools.set(origin, entry);
    }
    return entry;
  };
  return Object.assign(
    function nodeFetch(input: string, init: RequestInit = {}): Promise<FetchedResponse> {
      const { pool, originLength } = poolFor(input);
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return Promise.reject(signal.reason);
      const exchange = new NodeExchange(signal);
      pool.dispatch(
        {
          path: input.slice(originLength) || '/',
          method: (init.method ?? 'GET') as 'GET',
          headers: init.headers as Record<string, string> | undefined,
          body: init.body === undefined || init.body === null ? undefined : String(init.body),
        },
        exchange,
      );
      return exchange.response;
    },
    {
      close: () => {
        for (const { pool } of pools.values()) void pool.destroy().catch(() => undefined);
        pools.clear();
      },
    },
  );
}

/** `scheme://host[:port]` of an absolute http(s) URL, by string scanning (no URL object per request). */
function originOf(input: string): string {
  const scheme = input.indexOf('://');
  const end = input.indexOf('/', scheme + 3);
  const origin = end < 0 ? input : input.slice(0, end);
  if (!origin.startsWith('http://') && !origin.startsWith('https://')) throw new TypeError(`node URL must be http:// or https://; got '${input}'`);
  return origin;
}

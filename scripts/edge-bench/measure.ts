/**
 * Load and latency measurement for the edge benchmark. autocannon generates the load, paced open
 * loop at a fixed rate by pacer.ts (autocannon's own rate limit sends per-second bursts).
 * Latencies come from autocannon's per-response event (float milliseconds from hrtime, taken from
 * the moment the request is written), plus any time the request's slot waited for a free
 * connection; autocannon's own histogram has a 1 ms resolution, too coarse for sub-millisecond
 * overheads. Per-request headers (signatures) are made before the timed run, so the load
 * generator spends the same CPU per request on every path.
 */
import autocannon from 'autocannon';
import http from 'node:http';
import { Pacer, type PacedClient } from './pacer.ts';

/** Pre-made requests per connection, as a multiple of its even share (the FIFO spreads slots evenly). */
const PER_CONNECTION_HEADROOM = 1.5;

export interface LoadResult {
  p50: number;
  p99: number;
  mean: number;
  sent: number;
  non2xx: number;
  errors: number;
  rps: number;
  /** Slots that found every connection busy (their wait is in the latency). */
  slotsWaited: number;
  /** Every 2xx latency in ms, sorted (to pool several runs). */
  times: number[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface LoadSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Headers that must differ per request (fresh signatures), made before the run starts. */
  setupHeaders?: () => Record<string, string>;
  rate: number;
  seconds: number;
  connections: number;
  /** Called once the connections and their requests are made, just before the first request. */
  onStart?: () => void;
}

interface AutocannonClient extends PacedClient {
  setRequests(requests: { headers: Record<string, string> }[]): void;
}

/** Several runs of one path as one: latencies pooled, counts summed, rate over the total time. */
export function poolRuns(runs: LoadResult[], seconds: number): LoadResult {
  const times = runs.flatMap((r) => r.times).sort((a, b) => a - b);
  const sum = (f: (r: LoadResult) => number) => runs.reduce((a, r) => a + f(r), 0);
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    sent: sum((r) => r.sent),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    rps: times.length / seconds,
    slotsWaited: sum((r) => r.slotsWaited),
    times,
  };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const times: number[] = [];
  const pacer = new Pacer(spec.rate);
  const perConnection = Math.ceil(((spec.rate * spec.seconds) / spec.connections) * PER_CONNECTION_HEADROOM) + 16;
  const instance = autocannon({
    url: spec.url,
    method: 'POST',
    connections: spec.connections,
    duration: spec.seconds,
    headers: spec.headers,
    body: spec.body,
    setupClient: (client: unknown) => {
      const c = client as AutocannonClient;
      if (spec.setupHeaders) c.setRequests(Array.from({ length: perConnection }, () => ({ headers: { ...spec.headers, ...spec.setupHeaders!() } })));
      pacer.adopt(c);
    },
  });
  instance.on('response', (client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) times.push(ms + pacer.waitedMs(client as PacedClient));
  });
  spec.onStart?.();
  pacer.start();
  const r = await instance;
  pacer.stop();
  times.sort((a, b) => a - b);
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    sent: r.requests.sent,
    non2xx: r.non2xx,
    errors: r.errors,
    rps: times.length / spec.seconds,
    slotsWaited: pacer.slotsWaited,
    times,
  };
}

/** Time to the first body byte of a POST, sequentially (keep-alive agent), in ms. */
export async function timeToFirstByte(url: string, body: string, headers: () => Record<string, string>, count: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      await new Promise<number>((resolve, reject) => {
        const t0 = performance.now();
        let first = 0;
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers() } }, (res) => {
          res.on('data', () => {
            if (!first) first = performance.now() - t0;
          });
          res.on('end', () => (res.statusCode === 200 ? resolve(first) : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      }),
    );
  }
  agent.destroy();
  return out.sort((a, b) => a - b);
}

/**
 * Load and latency measurement for the edge benchmark. autocannon generates the fixed-rate load;
 * latencies are taken from its per-response event (float milliseconds from hrtime), because its own
 * histogram has a 1 ms resolution, too coarse for sub-millisecond overheads.
 */
import autocannon from 'autocannon';
import http from 'node:http';

export interface LoadResult {
  p50: number;
  p99: number;
  mean: number;
  sent: number;
  non2xx: number;
  errors: number;
  rps: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export interface LoadSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** Called per request (fresh signatures). */
  setupHeaders?: () => Record<string, string>;
  rate: number;
  seconds: number;
  connections: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const times: number[] = [];
  const instance = autocannon({
    url: spec.url,
    method: 'POST',
    connections: spec.connections,
    overallRate: spec.rate,
    duration: spec.seconds,
    headers: spec.headers,
    body: spec.body,
    requests: spec.setupHeaders
      ? [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, headers: { ...(req.headers as object), ...spec.setupHeaders!() } }) }]
      : undefined,
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const r = await instance;
  times.sort((a, b) => a - b);
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    mean: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    sent: r.requests.sent,
    non2xx: r.non2xx,
    errors: r.errors,
    rps: r.requests.average,
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

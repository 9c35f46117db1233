/**
 * Several full runs of the edge benchmark (fresh processes each, `--repeat`) as one: latencies
 * pooled per path, CPU and run-queue wait per request weighted by requests done, SSE samples joined.
 * The runs themselves are kept, so the report can give each run's added latency and their median:
 * a p99 taken from a 12 s run on a shared 2-core machine moves by milliseconds from run to run.
 */
import { median } from '../lib/bench-doc.ts';
import { poolRuns } from './measure.ts';
import type { CpuPerRequest, Measured, PathResult } from './report.ts';

const PATHS = ['direct', 'bare', 'viaEdgeHttp', 'viaEdge'] as const;

function weighted(parts: { v: CpuPerRequest; n: number }[]): CpuPerRequest {
  const total = parts.reduce((a, p) => a + p.n, 0) || 1;
  const avg = (f: (c: CpuPerRequest) => number) => parts.reduce((a, p) => a + f(p.v) * p.n, 0) / total;
  return { loadgen: avg((c) => c.loadgen), hop: avg((c) => c.hop), node: avg((c) => c.node) };
}

function mergePath(paths: PathResult[], seconds: number): PathResult {
  const n = (p: PathResult) => p.load.times.length;
  return {
    load: poolRuns(paths.map((p) => p.load), seconds),
    cpu: weighted(paths.map((p) => ({ v: p.cpu, n: n(p) }))),
    runQueueWait: weighted(paths.map((p) => ({ v: p.runQueueWait, n: n(p) }))),
  };
}

/** `secondsPerRun`: timed seconds of one path in one run (for the pooled request rate). */
export function mergeMeasured(runs: Measured[], secondsPerRun: number): Measured {
  if (runs.length === 1) return runs[0];
  const seconds = secondsPerRun * runs.length;
  const joined = (f: (m: Measured) => number[]) => runs.flatMap(f).sort((a, b) => a - b);
  const merged = {
    rate: runs[0].rate,
    loadBefore: Math.max(...runs.map((r) => r.loadBefore)),
    loadAfter: Math.max(...runs.map((r) => r.loadAfter)),
    ttfbDirect: joined((m) => m.ttfbDirect),
    ttfbEdge: joined((m) => m.ttfbEdge),
    ttfbEdgeHttp: joined((m) => m.ttfbEdgeHttp),
    runs,
  } as Measured;
  for (const k of PATHS) merged[k] = mergePath(runs.map((r) => r[k]), seconds);
  return merged;
}

/** Added latency (ms) of `over` against the direct path in every run, and the median over runs. */
export function addedPerRun(runs: Measured[], over: 'bare' | 'viaEdgeHttp' | 'viaEdge'): { p50: number[]; p99: number[]; medianP50: number; medianP99: number } {
  const p50 = runs.map((r) => r[over].load.p50 - r.direct.load.p50);
  const p99 = runs.map((r) => r[over].load.p99 - r.direct.load.p99);
  return { p50, p99, medianP50: median(p50), medianP99: median(p99) };
}

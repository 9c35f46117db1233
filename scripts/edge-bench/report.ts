/** The edge benchmark's tables (Markdown, printed and written to docs/BENCHMARKS.md). */
import os from 'node:os';
import { percentile, type LoadResult } from './measure.ts';
import { addedPerRun } from './merge.ts';

/** CPU microseconds per completed request of each process (NaN: no such process on this path). */
export interface CpuPerRequest {
  loadgen: number;
  /** The process in the middle: the edge, or the bare proxy. */
  hop: number;
  node: number;
}

export interface PathResult {
  load: LoadResult;
  cpu: CpuPerRequest;
  /** Microseconds per request each process's main thread waited for a core (/proc/<pid>/schedstat). */
  runQueueWait: CpuPerRequest;
}

export interface Measured {
  rate: number;
  /** 1-minute load average of the machine before and after the timed runs (other work on it). */
  loadBefore: number;
  loadAfter: number;
  direct: PathResult;
  bare: PathResult;
  /** The edge with ABQ_NODE_LINK=false: an HTTP request to the node per generation. */
  viaEdgeHttp: PathResult;
  /** The edge in its default mode: the persistent node link. */
  viaEdge: PathResult;
  ttfbDirect: number[];
  ttfbEdge: number[];
  ttfbEdgeHttp: number[];
  /** With --repeat: the separate runs this one pools. */
  runs?: Measured[];
}

export const TARGET_P50_MS = 0.5;
export const TARGET_P99_MS = 2;

const ms = (x: number) => x.toFixed(3);
const us = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');

function row(name: string, p: PathResult): string {
  const r = p.load;
  return `| ${name} | ${r.rps.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.mean)} | ${r.non2xx + r.errors} | ${r.slotsWaited} | ${us(p.cpu.loadgen)} | ${us(p.cpu.hop)} | ${us(p.cpu.node)} |`;
}

function added(name: string, over: PathResult, base: PathResult): string {
  const d = (f: (r: LoadResult) => number) => ms(f(over.load) - f(base.load));
  return `| ${name} | | **${d((r) => r.p50)}** | **${d((r) => r.p99)}** | ${d((r) => r.mean)} | | | | ${us(over.cpu.hop)} | ${us(over.cpu.node - base.cpu.node)} |`;
}

/** Share of slots that may wait for a connection before a run counts as overloaded. */
const MAX_WAITED_SHARE = 0.01;

function overloaded(m: Measured): boolean {
  return [m.direct, m.bare, m.viaEdgeHttp, m.viaEdge].some((p) => p.load.rps < 0.95 * m.rate || p.load.slotsWaited > MAX_WAITED_SHARE * p.load.times.length);
}

const cores = () => os.cpus().length;

export function sectionMarkdown(title: string, m: Measured, targets: boolean): string[] {
  const p50 = (xs: number[]) => percentile(xs, 50);
  const p99 = (xs: number[]) => percentile(xs, 99);
  const loads = (f: (r: Measured) => number) => (m.runs ?? [m]).map((r) => f(r).toFixed(1)).join(', ');
  const ttfb = (name: string, xs: number[]) =>
    `${name} p50 ${ms(p50(xs))} / p99 ${ms(p99(xs))} ms (overhead p50 **${ms(p50(xs) - p50(m.ttfbDirect))}** ms, p99 ${ms(p99(xs) - p99(m.ttfbDirect))} ms)`;
  return [
    `### ${title} (offered load ${m.rate} req/s)`,
    '',
    '| path | req/s done | p50 ms | p99 ms | mean ms | failed | slots that waited | CPU us/req load generator | CPU us/req edge or hop | CPU us/req node |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row('direct to node: POST /v1/generate (token ids, signed)', m.direct),
    row('bare hop: the same request through a bare node:http forwarder', m.bare),
    row('via edge, HTTP hop to the node (ABQ_NODE_LINK=false): POST /v1/completions (auth, tokenize, route, sign, detokenize)', m.viaEdgeHttp),
    row('via edge, node link (default): the same, over the persistent link', m.viaEdge),
    added('added by a bare Node hop (floor)', m.bare, m.direct),
    added('added by the edge, HTTP hop', m.viaEdgeHttp, m.direct),
    added('**added by the edge, node link**', m.viaEdge, m.direct),
    '',
    ...(overloaded(m)
      ? [`**The machine did not keep up with the offered load** (1-minute load average ${loads((r) => r.loadBefore)} before, ${loads((r) => r.loadAfter)} after, on ${cores()} cores): a path that completed under 95% of the offered rate, or whose slots waited for a free connection, was queueing, so its latencies measure the backlog, not the edge. Rerun on a quiet machine.`, '']
      : [`1-minute load average ${loads((r) => r.loadBefore)} before and ${loads((r) => r.loadAfter)} after the timed runs${m.runs ? ' (per run)' : ''}.`, '']),
    ...(targets ? targetLines(m) : []),
    ...(targets ? tailLines(m) : []),
    `SSE time to first byte (stream: true, max_tokens 16, ${m.ttfbDirect.length} sequential requests): direct p50 ${ms(p50(m.ttfbDirect))} / p99 ${ms(p99(m.ttfbDirect))} ms; ${ttfb('via edge, node link', m.ttfbEdge)}; ${ttfb('via edge, HTTP hop', m.ttfbEdgeHttp)}.`,
    '',
  ];
}

function targetLines(m: Measured): string[] {
  const verdict = (v: number, target: number, name: string) => (v <= target ? `${name} met` : `**${name} not met**`);
  const rate = m.rate === 1000 ? '' : `; this run offered ${m.rate} req/s`;
  const runs = m.runs ?? [m];
  const fmt = (xs: number[]) => xs.map(ms).join(', ');
  const line = (name: string, key: 'bare' | 'viaEdgeHttp' | 'viaEdge') => {
    const a = addedPerRun(runs, key);
    const v = key === 'bare' ? '' : `: ${verdict(a.medianP50, TARGET_P50_MS, 'p50')}, ${verdict(a.medianP99, TARGET_P99_MS, 'p99')}`;
    return `- ${name}: median p50 **${ms(a.medianP50)}** ms, p99 **${ms(a.medianP99)}** ms (per run: p50 ${fmt(a.p50)}; p99 ${fmt(a.p99)})${v}`;
  };
  return [
    `Targets: p50 <= ${TARGET_P50_MS} ms and p99 <= ${TARGET_P99_MS} ms added at 1,000 req/s${rate}. Added latency of each path in each of the ${runs.length} run(s) (fresh processes each; added = that path's p50 or p99 - the direct path's in the same run), and the median over runs, which the verdicts use:`,
    '',
    line('node link (the default)', 'viaEdge'),
    line('HTTP hop (ABQ_NODE_LINK=false)', 'viaEdgeHttp'),
    line('bare node:http forwarder (the floor)', 'bare'),
    '',
  ];
}

function tailLines(m: Measured): string[] {
  const over = (p: PathResult) => (p.load.times.length - p.load.times.filter((t) => t <= m.direct.load.p50 + TARGET_P99_MS).length) / Math.max(1, p.load.times.length);
  return [
    "Where the tail comes from: per request, how long each process's main thread was ready to run but waited for a core (run-queue wait, /proc/<pid>/schedstat, summed over the timed runs), and the share of requests slower than the direct path's p50 + 2 ms (the budget the p99 target allows):",
    '',
    '| path | run-queue wait us/req load generator | edge or hop | node | all three | requests over direct p50 + 2 ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...([['direct to node', m.direct], ['bare hop', m.bare], ['via edge, HTTP hop', m.viaEdgeHttp], ['via edge, node link', m.viaEdge]] as const).map(([name, p]) => {
      const w = p.runQueueWait;
      const all = w.loadgen + (Number.isFinite(w.hop) ? w.hop : 0) + w.node;
      return `| ${name} | ${us(w.loadgen)} | ${us(w.hop)} | ${us(w.node)} | ${us(all)} | ${(over(p) * 100).toFixed(2)}% |`;
    }),
    '',
  ];
}

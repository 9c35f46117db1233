/**
 * `npm run bench:edge`: the latency the edge router adds, on 127.0.0.1.
 *   1. Open-loop load at a fixed rate (autocannon, paced by edge-bench/pacer.ts: one request every
 *      1/rate s, not autocannon's per-second bursts), 1,000 req/s by default, on four paths:
 *      - direct: POST /v1/generate to a GPU node server (prompt as token ids, signed by the load
 *        generator before the run, one-piece `stream: false` as the edge asks for short requests);
 *      - bare hop: the same request through edge-bench/bare-proxy.ts, a bare node:http forwarder,
 *        the floor under any edge written on Node's HTTP stack on this machine;
 *      - via edge, HTTP hop: POST /v1/completions to an edge with ABQ_NODE_LINK=false, which
 *        authenticates, tokenizes, signs, forwards over HTTP and detokenizes;
 *      - via edge, node link: the same to an edge in its default mode, which sends the request
 *        over its persistent link to the node (edge/link/) instead.
 *      max_tokens 1, so model time is tiny. The paths take turns (`--rounds`) so drifting load
 *      from other work on the machine hits all alike; latencies are pooled per path.
 *      Added latency = via edge - direct (p50, p99). Also the CPU time per request of each process.
 *   2. SSE time to first byte, sequential, streamed: each edge vs direct.
 * The node is the real node server app over a fixed-token backend (edge-bench/fixed-node.ts), so
 * model time does not cap the rate; a second, lower-rate run uses the real WASM engine on the
 * shipped stories260K W4A8 model (`--wasm-rate`, default 100 req/s).
 * Prints a table and writes the "edge" section of docs/BENCHMARKS.md.
 * Options: --rate N (default 1000), --seconds N per path (default 12), --rounds N (default 3),
 * --repeat N runs of the router-overhead measurement with fresh processes (default 3),
 * --ttfb N requests (default 300), --wasm-rate N (default 100); for quick probes while changing the
 * edge: --only fixed (skip the WASM run), --no-doc (print only), --edge-node-args=FLAGS (V8/Node flags for
 * both edge processes, e.g. --edge-node-args=--max-semi-space-size=32 for a GC A/B), --edge-prof DIR (the edge runs
 * under --cpu-prof and writes its profile there on exit).
 */
import { createHmac, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine, replaceBenchSection } from './lib/bench-doc.ts';
import { verifyRequest, SIGNATURE_HEADER } from '../shared/auth/index.ts';
import { ROOT, startChild } from './edge-bench/processes.ts';
import { poolRuns, runLoad, timeToFirstByte, type LoadResult, type LoadSpec } from './edge-bench/measure.ts';
import { processCpuSeconds, processRunQueueWaitSeconds, selfCpuSeconds } from './edge-bench/cpu.ts';
import { sectionMarkdown, type Measured, type PathResult } from './edge-bench/report.ts';
import { cpuAccountMarkdown } from './edge-bench/cpu-account.ts';
import { mergeMeasured } from './edge-bench/merge.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '12' },
    rounds: { type: 'string', default: '3' },
    ttfb: { type: 'string', default: '300' },
    'wasm-rate': { type: 'string', default: '100' },
    repeat: { type: 'string', default: '3' },
    only: { type: 'string' },
    'no-doc': { type: 'boolean', default: false },
    'edge-prof': { type: 'string' },
    'edge-node-args': { type: 'string' },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const TTFB_COUNT = Number(values.ttfb);
const WASM_RATE = Number(values['wasm-rate']);
const REPEAT = Number(values.repeat);
const WARMUP_SECONDS = 2;
/** Enough that a paced slot almost never finds every connection busy (rate x latency is about 10). */
const CONNECTIONS = 32;
const SECRET = randomBytes(32).toString('hex');
const KEY = 'sk-bench-' + randomBytes(8).toString('hex');
const MODEL_DIR = path.join(ROOT, 'models', 'stories260K-w4a8');
const PROMPT = 'Once upon a time';
const PROMPT_IDS = [1, 403, 407, 261, 378]; // PROMPT tokenized with BOS (checked below against the edge's usage)
const LISTENING = (name: string) => new RegExp(`${name} listening on (http:\\/\\/[\\d.:]+)`);

/** The shared/auth v1 signature, computed synchronously (made per request before the run). */
function signSync(method: string, pathname: string, body: string): string {
  const exp = Date.now() + 30_000;
  const nonce = randomBytes(12).toString('base64url');
  const mac = createHmac('sha256', SECRET).update(`v1\n${method}\n${pathname}\n${exp}\n${nonce}\n`).update(body).digest('base64url');
  return `v1;exp=${exp};nonce=${nonce};sig=${mac}`;
}

// Non-streamed loads ask the node for one piece (`stream: false`), as the edge does for short
// non-streamed requests, so every path asks the node for the same work.
const directBody = (maxTokens: number, stream = maxTokens > 1) => JSON.stringify({ model: 'stories260K', tokens: PROMPT_IDS, max_tokens: maxTokens, temperature: 0, top_p: 1, top_k: 0, stop: [[2]], ...(stream ? {} : { stream: false }) });
const edgeBody = (stream: boolean, maxTokens: number) => JSON.stringify({ model: 'stories260K', prompt: PROMPT, max_tokens: maxTokens, temperature: 0, stream });

type PathSpec = Omit<LoadSpec, 'rate' | 'seconds' | 'connections' | 'onStart'> & { hopPid?: number };
/** The paths in the order each round runs them. */
const PATH_KEYS = ['direct', 'bare', 'viaEdgeHttp', 'viaEdge'] as const;
type PathKey = (typeof PATH_KEYS)[number];

async function measure(nodeScript: string, nodeArgs: string[], rate: number, ttfbCount: number): Promise<Measured> {
  const node = await startChild(nodeScript, nodeArgs, { ABQ_NODE_SECRET: SECRET }, LISTENING('abq-node'));
  const prof = values['edge-prof'];
  const edgeEnv = (link: boolean) => ({
    ABQ_PORT: '0', ABQ_NODE_SECRET: SECRET, ABQ_API_KEYS: `bench:${KEY}`, ABQ_NODES: `n1=${node.url}`, ABQ_WASM_FALLBACK: 'false', ABQ_MODEL_DIRS: `stories260K=${MODEL_DIR}`, ABQ_RATE_LIMIT_PER_MINUTE: '0', ABQ_NODE_LINK: String(link),
  });
  // Two edges on the same node: the default (node link) and one with the link off (HTTP hop), so
  // both transports are measured in the same run. --edge-prof profiles the default one.
  const edgeFlags = (values['edge-node-args'] ?? '').split(/\s+/).filter(Boolean);
  const edge = await startChild('edge/node.ts', [], edgeEnv(true), LISTENING('abq-edge'), [...edgeFlags, ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [])]);
  const edgeHttp = await startChild('edge/node.ts', [], edgeEnv(false), LISTENING('abq-edge'), edgeFlags);
  const bare = await startChild('scripts/edge-bench/bare-proxy.ts', [node.url], {}, LISTENING('bare-proxy'));
  try {
    for (const [e, transport] of [[edge, 'link'], [edgeHttp, 'http']] as const) {
      const probe = await fetch(`${e.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: edgeBody(false, 1) });
      const pj = (await probe.json()) as { usage?: { prompt_tokens: number } };
      if (probe.headers.get('x-abq-served-by') !== 'gpu' || pj.usage?.prompt_tokens !== PROMPT_IDS.length) throw new Error(`edge probe failed: ${JSON.stringify(pj)}`);
      const metrics = await (await fetch(`${e.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
      if (!new RegExp(`abq_edge_node_requests_total\\{node="n1",transport="${transport}"\\} 1\\b`).test(metrics)) throw new Error(`the ${transport} edge did not use its transport:\n${metrics}`);
    }
    const signed = () => ({ [SIGNATURE_HEADER]: signSync('POST', '/v1/generate', directBody(1)) });
    const json = { 'content-type': 'application/json' };
    const edgeHeaders = { ...json, authorization: `Bearer ${KEY}` };
    const paths: Record<PathKey, PathSpec> = {
      direct: { url: `${node.url}/v1/generate`, body: directBody(1), headers: json, setupHeaders: signed },
      bare: { url: `${bare.url}/v1/generate`, body: directBody(1), headers: json, setupHeaders: signed, hopPid: bare.proc.pid },
      viaEdgeHttp: { url: `${edgeHttp.url}/v1/completions`, body: edgeBody(false, 1), headers: edgeHeaders, hopPid: edgeHttp.proc.pid },
      viaEdge: { url: `${edge.url}/v1/completions`, body: edgeBody(false, 1), headers: edgeHeaders, hopPid: edge.proc.pid },
    };
    for (const spec of Object.values(paths)) await runLoad({ ...spec, rate, seconds: WARMUP_SECONDS, connections: CONNECTIONS });
    const loadBefore = os.loadavg()[0];
    const runs: Record<PathKey, LoadResult[]> = { direct: [], bare: [], viaEdgeHttp: [], viaEdge: [] };
    // Per path: CPU seconds of the load generator, the hop and the node, then their run-queue waits.
    const cpu: Record<PathKey, number[]> = { direct: Array(6).fill(0), bare: Array(6).fill(0), viaEdgeHttp: Array(6).fill(0), viaEdge: Array(6).fill(0) };
    const roundSeconds = SECONDS / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      for (const key of PATH_KEYS) {
        const spec = paths[key];
        const sample = () => [
          selfCpuSeconds(), spec.hopPid ? processCpuSeconds(spec.hopPid) : 0, processCpuSeconds(node.proc.pid!),
          processRunQueueWaitSeconds(process.pid), spec.hopPid ? processRunQueueWaitSeconds(spec.hopPid) : 0, processRunQueueWaitSeconds(node.proc.pid!),
        ];
        let before: number[] = [];
        // Snapshot once the requests are made (the direct path's signatures), so that is not counted.
        runs[key].push(await runLoad({ ...spec, rate, seconds: roundSeconds, connections: CONNECTIONS, onStart: () => (before = sample()) }));
        const after = sample();
        for (let i = 0; i < 6; i++) cpu[key][i] += after[i] - before[i];
      }
    }
    const loadAfter = os.loadavg()[0];
    const result = (key: keyof typeof runs): PathResult => {
      const load = poolRuns(runs[key], SECONDS);
      const us = (s: number) => (s / Math.max(1, load.times.length)) * 1e6;
      const hop = paths[key].hopPid !== undefined;
      const c = cpu[key];
      return {
        load,
        cpu: { loadgen: us(c[0]), hop: hop ? us(c[1]) : NaN, node: us(c[2]) },
        runQueueWait: { loadgen: us(c[3]), hop: hop ? us(c[4]) : NaN, node: us(c[5]) },
      };
    };
    const ttfbDirect = await timeToFirstByte(`${node.url}/v1/generate`, directBody(16), () => ({ [SIGNATURE_HEADER]: signSync('POST', '/v1/generate', directBody(16)) }), ttfbCount);
    const ttfbEdge = await timeToFirstByte(`${edge.url}/v1/completions`, edgeBody(true, 16), () => ({ authorization: `Bearer ${KEY}` }), ttfbCount);
    const ttfbEdgeHttp = await timeToFirstByte(`${edgeHttp.url}/v1/completions`, edgeBody(true, 16), () => ({ authorization: `Bearer ${KEY}` }), ttfbCount);
    return { rate, loadBefore, loadAfter, direct: result('direct'), bare: result('bare'), viaEdgeHttp: result('viaEdgeHttp'), viaEdge: result('viaEdge'), ttfbDirect, ttfbEdge, ttfbEdgeHttp };
  } finally {
    await Promise.all([edge.stop(prof ? 'SIGTERM' : 'SIGKILL'), edgeHttp.stop(), node.stop(), bare.stop()]);
  }
}

async function main(): Promise<void> {
  const check = directBody(1);
  const ok = await verifyRequest({ secret: SECRET, header: signSync('POST', '/v1/generate', check), method: 'POST', path: '/v1/generate', body: check });
  if (!ok.ok) throw new Error(`the benchmark's synchronous signer disagrees with shared/auth (${ok.reason})`);
  // The router-overhead run is repeated with fresh processes: its p99 moves by milliseconds between runs.
  const fixedRuns: Measured[] = [];
  for (let i = 0; i < REPEAT; i++) fixedRuns.push(await measure('scripts/edge-bench/fixed-node.ts', [], RATE, Math.ceil(TTFB_COUNT / REPEAT)));
  const fixed = mergeMeasured(fixedRuns, SECONDS);
  const wasm = values.only === 'fixed' ? undefined : await measure('gpu-node/server/main.ts', ['--backend', 'wasm', '--model', MODEL_DIR, '--model-id', 'stories260K', '--port', '0', '--max-seqs', '8', '--max-queue', '4096'], WASM_RATE, Math.min(TTFB_COUNT, 100));
  const md = [
    '## Edge router overhead (`npm run bench:edge`)',
    '',
    `Machine: ${machineLine()}. Node server, the two edges (on Node, @hono/node-server; one with the node link, one with ABQ_NODE_LINK=false) and the bare hop each in its own process on 127.0.0.1 (only the path being measured gets requests); load from autocannon in another: ${CONNECTIONS} connections, open loop, one request every 1/rate s (scripts/edge-bench/pacer.ts; autocannon's own rate limit sends per-second bursts, which measured queueing, not latency), ${SECONDS} s per path in ${ROUNDS} alternating rounds after a ${WARMUP_SECONDS} s warm-up; the router-overhead run ${REPEAT} times with fresh processes, its table pooling them. Requests: "${PROMPT}", max_tokens 1, temperature 0, non-streamed. Latency: from writing the request to the end of the response, hrtime in the load generator (autocannon's per-response time, in fractional ms; its histogram would round to 1 ms), plus any wait of a slot for a free connection ("slots that waited", normally 0). CPU us/req: user + system CPU time of each process over the timed runs (/proc, 10 ms ticks) divided by the requests completed; signatures for the direct path are made before the timed runs.`,
    '',
    ...sectionMarkdown('Router overhead: node server over a fixed-token backend (no model time)', fixed, true),
    ...cpuAccountMarkdown(fixed),
    ...(wasm ? sectionMarkdown('End to end: node server on the WASM engine, shipped stories260K W4A8', wasm, false) : []),
  ].join('\n');
  console.log(md);
  if (!values['no-doc']) replaceBenchSection('edge', md);
}

main().catch((e: Error) => {
  console.error(`bench:edge: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});

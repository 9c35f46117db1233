/**
 * `npm run bench:edge`: the latency the edge router adds, on 127.0.0.1.
 *   1. fixed-rate load (autocannon, 1,000 req/s by default): POST /v1/completions to the edge, which
 *      tokenizes, signs and forwards to a GPU node server, vs POST /v1/generate straight to that node
 *      (same prompt as token ids, signed by the load generator, one-piece `stream: false` as the edge
 *      asks for short non-streamed requests); max_tokens 1, so model time is tiny
 *      and the difference is the edge's work plus one loopback hop. p50/p99 of both, and the difference,
 *      and the CPU time per request of each process (edge-bench/cpu.ts), steadier than latency here.
 *   2. SSE time to first byte, sequential, streamed: edge vs direct.
 * Node and edge run as separate processes. The node is the real node server app over a fixed-token
 * backend (edge-bench/fixed-node.ts), so model time does not cap the rate; a second, lower-rate run
 * uses the real WASM engine on the shipped stories260K W4A8 model (`--wasm-rate`, default 100 req/s).
 * Prints a table and writes the "edge" section of docs/BENCHMARKS.md.
 * Options: --rate N (default 1000), --seconds N (default 10), --ttfb N requests (default 300).
 */
import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine, replaceBenchSection } from './lib/bench-doc.ts';
import { verifyRequest, SIGNATURE_HEADER } from '../shared/auth/index.ts';
import { ROOT, startChild } from './edge-bench/processes.ts';
import { percentile, runLoad, timeToFirstByte, type LoadResult, type LoadSpec } from './edge-bench/measure.ts';
import { processCpuSeconds, selfCpuSeconds } from './edge-bench/cpu.ts';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '10' }, ttfb: { type: 'string', default: '300' }, 'wasm-rate': { type: 'string', default: '100' } } });
const WASM_RATE = Number(values['wasm-rate']);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const TTFB_COUNT = Number(values.ttfb);
const CONNECTIONS = 16;
const SECRET = randomBytes(32).toString('hex');
const KEY = 'sk-bench-' + randomBytes(8).toString('hex');
const MODEL_DIR = path.join(ROOT, 'models', 'stories260K-w4a8');
const PROMPT = 'Once upon a time';
const PROMPT_IDS = [1, 403, 407, 261, 378]; // PROMPT tokenized with BOS (checked below against the edge's usage)

/** The shared/auth v1 signature, computed synchronously (autocannon's setupRequest cannot await). */
function signSync(method: string, pathname: string, body: string): string {
  const exp = Date.now() + 30_000;
  const nonce = randomBytes(12).toString('base64url');
  const mac = createHmac('sha256', SECRET).update(`v1\n${method}\n${pathname}\n${exp}\n${nonce}\n`).update(body).digest('base64url');
  return `v1;exp=${exp};nonce=${nonce};sig=${mac}`;
}

const fmt = (x: number) => x.toFixed(3);

/** CPU microseconds per completed request, per process, over one load run. */
interface CpuPerRequest {
  loadgen: number;
  edge: number;
  node: number;
}

interface Measured {
  direct: LoadResult;
  viaEdge: LoadResult;
  cpuDirect: CpuPerRequest;
  cpuEdge: CpuPerRequest;
  ttfbDirect: number[];
  ttfbEdge: number[];
}

async function measure(nodeScript: string, nodeArgs: string[], rate: number, ttfbCount: number): Promise<Measured> {
  const node = await startChild(nodeScript, nodeArgs, { ABQ_NODE_SECRET: SECRET }, /abq-node listening on (http:\/\/[\d.:]+)/);
  const edge = await startChild('edge/node.ts', [], {
    ABQ_PORT: '0', ABQ_NODE_SECRET: SECRET, ABQ_API_KEYS: `bench:${KEY}`, ABQ_NODES: `n1=${node.url}`, ABQ_WASM_FALLBACK: 'false', ABQ_MODEL_DIRS: `stories260K=${MODEL_DIR}`, ABQ_RATE_LIMIT_PER_MINUTE: '0',
  }, /abq-edge listening on (http:\/\/[\d.:]+)/);
  try {
    const probe = await fetch(`${edge.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: edgeBody(false, 1) });
    const pj = (await probe.json()) as { usage?: { prompt_tokens: number } };
    if (probe.headers.get('x-abq-served-by') !== 'gpu' || pj.usage?.prompt_tokens !== PROMPT_IDS.length) throw new Error(`edge probe failed: ${JSON.stringify(pj)}`);
    const directSpec = { url: `${node.url}/v1/generate`, body: directBody(1), headers: { 'content-type': 'application/json' }, setupHeaders: () => ({ [SIGNATURE_HEADER]: signSync('POST', '/v1/generate', directBody(1)) }) };
    const edgeSpec = { url: `${edge.url}/v1/completions`, body: edgeBody(false, 1), headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` } };
    await runLoad({ ...directSpec, rate, seconds: 2, connections: CONNECTIONS });
    await runLoad({ ...edgeSpec, rate, seconds: 2, connections: CONNECTIONS });
    // CPU per request of each process: steadier than latency when other work shares the machine.
    const timed = async (spec: Omit<LoadSpec, 'rate' | 'seconds' | 'connections'>): Promise<[LoadResult, CpuPerRequest]> => {
      const before = [selfCpuSeconds(), processCpuSeconds(edge.proc.pid!), processCpuSeconds(node.proc.pid!)];
      const r = await runLoad({ ...spec, rate, seconds: SECONDS, connections: CONNECTIONS });
      const after = [selfCpuSeconds(), processCpuSeconds(edge.proc.pid!), processCpuSeconds(node.proc.pid!)];
      const done = Math.max(1, r.rps * SECONDS);
      const us = (i: number) => ((after[i] - before[i]) / done) * 1e6;
      return [r, { loadgen: us(0), edge: us(1), node: us(2) }];
    };
    const [direct, cpuDirect] = await timed(directSpec);
    const [viaEdge, cpuEdge] = await timed(edgeSpec);
    const ttfbDirect = await timeToFirstByte(`${node.url}/v1/generate`, directBody(16), () => ({ [SIGNATURE_HEADER]: signSync('POST', '/v1/generate', directBody(16)) }), ttfbCount);
    const ttfbEdge = await timeToFirstByte(`${edge.url}/v1/completions`, edgeBody(true, 16), () => ({ authorization: `Bearer ${KEY}` }), ttfbCount);
    return { direct, viaEdge, cpuDirect, cpuEdge, ttfbDirect, ttfbEdge };
  } finally {
    await Promise.all([edge.stop(), node.stop()]);
  }
}

// Non-streamed loads ask the node for one piece (`stream: false`), as the edge does for short
// non-streamed requests, so both paths ask the node for the same work.
const directBody = (maxTokens: number, stream = maxTokens > 1) => JSON.stringify({ model: 'stories260K', tokens: PROMPT_IDS, max_tokens: maxTokens, temperature: 0, top_p: 1, top_k: 0, stop: [[2]], ...(stream ? {} : { stream: false }) });
const edgeBody = (stream: boolean, maxTokens: number) => JSON.stringify({ model: 'stories260K', prompt: PROMPT, max_tokens: maxTokens, temperature: 0, stream });

function section(title: string, m: Measured, rate: number, targets: boolean): string[] {
  const cpu = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
  const row = (name: string, r: LoadResult, c: CpuPerRequest) => `| ${name} | ${r.rps.toFixed(0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.mean)} | ${r.non2xx + r.errors} | ${cpu(c.loadgen)} | ${cpu(c.edge)} | ${cpu(c.node)} |`;
  const addedP50 = m.viaEdge.p50 - m.direct.p50;
  const addedP99 = m.viaEdge.p99 - m.direct.p99;
  const t = { dp50: percentile(m.ttfbDirect, 50), dp99: percentile(m.ttfbDirect, 99), ep50: percentile(m.ttfbEdge, 50), ep99: percentile(m.ttfbEdge, 99) };
  return [
    `### ${title} (offered load ${rate} req/s)`,
    '',
    '| path | req/s done | p50 ms | p99 ms | mean ms | failed | CPU us/req load generator | CPU us/req edge | CPU us/req node |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    row('direct to node: POST /v1/generate (token ids, signed)', m.direct, m.cpuDirect),
    row('via edge: POST /v1/completions (tokenize, route, sign, detokenize)', m.viaEdge, m.cpuEdge),
    `| **added by the edge** | | **${fmt(addedP50)}** | **${fmt(addedP99)}** | ${fmt(m.viaEdge.mean - m.direct.mean)} | | | **${cpu(m.cpuEdge.edge)}** | ${cpu(m.cpuEdge.node - m.cpuDirect.node)} |`,
    '',
    ...(targets ? [`Targets (p50 <= 0.5 ms, p99 <= 2 ms added at 1,000 req/s): ${addedP50 <= 0.5 ? 'p50 met' : '**p50 not met**'}, ${addedP99 <= 2 ? 'p99 met' : '**p99 not met**'}${rate === 1000 ? '' : ` (this run offered ${rate} req/s)`}.`, ''] : []),
    `SSE time to first byte (stream: true, max_tokens 16, ${m.ttfbDirect.length} sequential requests): direct p50 ${fmt(t.dp50)} / p99 ${fmt(t.dp99)} ms, via edge p50 ${fmt(t.ep50)} / p99 ${fmt(t.ep99)} ms: overhead p50 **${fmt(t.ep50 - t.dp50)}** ms, p99 ${fmt(t.ep99 - t.dp99)} ms.`,
    '',
  ];
}

async function main(): Promise<void> {
  const check = directBody(1);
  const ok = await verifyRequest({ secret: SECRET, header: signSync('POST', '/v1/generate', check), method: 'POST', path: '/v1/generate', body: check });
  if (!ok.ok) throw new Error(`the benchmark's synchronous signer disagrees with shared/auth (${ok.reason})`);
  const fixed = await measure('scripts/edge-bench/fixed-node.ts', [], RATE, TTFB_COUNT);
  const wasm = await measure('gpu-node/server/main.ts', ['--backend', 'wasm', '--model', MODEL_DIR, '--model-id', 'stories260K', '--port', '0', '--slots', '8', '--max-queue', '4096'], WASM_RATE, Math.min(TTFB_COUNT, 100));
  const md = [
    '## Edge router overhead (`npm run bench:edge`)',
    '',
    `Machine: ${machineLine()}. Node server and edge each in its own process on 127.0.0.1 (edge on Node, @hono/node-server); load from autocannon in a third (${CONNECTIONS} connections, fixed rate, ${SECONDS} s after a 2 s warm-up). Requests: "${PROMPT}", max_tokens 1, temperature 0, non-streamed. Latencies in ms from autocannon's per-response times (its histogram rounds to 1 ms). CPU us/req: user + system CPU time of each process over the timed run (/proc) divided by the requests completed; the load generator's column is autocannon's process (the direct path's client also signs every request). The edge sends SSE headers once the first token has arrived, so that a node failing before it can be retried elsewhere.`,
    '',
    ...section('Router overhead: node server over a fixed-token backend (no model time)', fixed, RATE, true),
    ...section('End to end: node server on the WASM engine, shipped stories260K W4A8', wasm, WASM_RATE, false),
  ].join('\n');
  console.log(md);
  replaceBenchSection('edge', md);
}

main().catch((e: Error) => {
  console.error(`bench:edge: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});

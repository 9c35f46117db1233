/**
 * `npm run bench:edge`: the latency the edge router adds, on 127.0.0.1.
 *   1. fixed-rate load (autocannon, 1,000 req/s by default): POST /v1/completions to the edge, which
 *      tokenizes, signs and forwards to a GPU node server, vs POST /v1/generate straight to that node
 *      (same prompt as token ids, signed by the load generator); max_tokens 1, so model time is tiny
 *      and the difference is the edge's work plus one loopback hop. p50/p99 of both, and the difference.
 *   2. SSE time to first byte, sequential, streamed: edge vs direct.
 * Node and edge run as separate processes (WASM backend, the shipped stories260K W4A8 model).
 * Prints a table and writes the "edge" section of docs/BENCHMARKS.md.
 * Options: --rate N (default 1000), --seconds N (default 10), --ttfb N requests (default 300).
 */
import { createHmac, randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine, replaceBenchSection } from './lib/bench-doc.ts';
import { verifyRequest, SIGNATURE_HEADER } from '../shared/auth/index.ts';
import { ROOT, startChild } from './edge-bench/processes.ts';
import { percentile, runLoad, timeToFirstByte, type LoadResult } from './edge-bench/measure.ts';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '10' }, ttfb: { type: 'string', default: '300' } } });
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

async function main(): Promise<void> {
  const directBody = (stream: boolean, maxTokens: number) => JSON.stringify({ model: 'stories260K', tokens: PROMPT_IDS, max_tokens: maxTokens, temperature: 0, top_p: 1, top_k: 0, stop: [[2]], ...(stream ? {} : {}) });
  const check = directBody(false, 1);
  const ok = await verifyRequest({ secret: SECRET, header: signSync('POST', '/v1/generate', check), method: 'POST', path: '/v1/generate', body: check });
  if (!ok.ok) throw new Error(`the benchmark's synchronous signer disagrees with shared/auth (${ok.reason})`);

  const node = await startChild('gpu-node/server/main.ts', ['--backend', 'wasm', '--model', MODEL_DIR, '--model-id', 'stories260K', '--port', '0', '--slots', '8', '--max-queue', '4096'], { ABQ_NODE_SECRET: SECRET }, /abq-node listening on (http:\/\/[\d.:]+)/);
  const edge = await startChild('edge/node.ts', [], {
    ABQ_PORT: '0', ABQ_NODE_SECRET: SECRET, ABQ_API_KEYS: `bench:${KEY}`, ABQ_NODES: `n1=${node.url}`, ABQ_WASM_FALLBACK: 'false', ABQ_MODEL_DIRS: `stories260K=${MODEL_DIR}`, ABQ_RATE_LIMIT_PER_MINUTE: '0',
  }, /abq-edge listening on (http:\/\/[\d.:]+)/);
  try {
    const edgeBody = (stream: boolean, maxTokens: number) => JSON.stringify({ model: 'stories260K', prompt: PROMPT, max_tokens: maxTokens, temperature: 0, stream });
    const probe = await fetch(`${edge.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: edgeBody(false, 1) });
    const pj = (await probe.json()) as { usage?: { prompt_tokens: number } };
    if (probe.headers.get('x-abq-served-by') !== 'gpu' || pj.usage?.prompt_tokens !== PROMPT_IDS.length) throw new Error(`edge probe failed: ${JSON.stringify(pj)}`);

    const warm = { rate: RATE, seconds: 2, connections: CONNECTIONS };
    const directSpec = { url: `${node.url}/v1/generate`, body: directBody(false, 1), headers: { 'content-type': 'application/json' }, setupHeaders: () => ({ [SIGNATURE_HEADER]: signSync('POST', '/v1/generate', directBody(false, 1)) }) };
    const edgeSpec = { url: `${edge.url}/v1/completions`, body: edgeBody(false, 1), headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` } };
    await runLoad({ ...directSpec, ...warm });
    await runLoad({ ...edgeSpec, ...warm });
    const direct = await runLoad({ ...directSpec, rate: RATE, seconds: SECONDS, connections: CONNECTIONS });
    const viaEdge = await runLoad({ ...edgeSpec, rate: RATE, seconds: SECONDS, connections: CONNECTIONS });

    const ttfbDirect = await timeToFirstByte(`${node.url}/v1/generate`, directBody(true, 16), () => ({ [SIGNATURE_HEADER]: signSync('POST', '/v1/generate', directBody(true, 16)) }), TTFB_COUNT);
    const ttfbEdge = await timeToFirstByte(`${edge.url}/v1/completions`, edgeBody(true, 16), () => ({ authorization: `Bearer ${KEY}` }), TTFB_COUNT);

    const row = (name: string, r: LoadResult) => `| ${name} | ${r.rps.toFixed(0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.mean)} | ${r.non2xx + r.errors} |`;
    const addedP50 = viaEdge.p50 - direct.p50;
    const addedP99 = viaEdge.p99 - direct.p99;
    const ttfb = { dp50: percentile(ttfbDirect, 50), dp99: percentile(ttfbDirect, 99), ep50: percentile(ttfbEdge, 50), ep99: percentile(ttfbEdge, 99) };
    const md = [
      '## Edge router overhead (`npm run bench:edge`)',
      '',
      `Machine: ${machineLine()}. Node server (WASM backend, shipped stories260K W4A8) and edge each in its own process on 127.0.0.1; load from autocannon in a third (${CONNECTIONS} connections, fixed rate ${RATE} req/s, ${SECONDS} s after a 2 s warm-up). Requests: "${PROMPT}", max_tokens 1, temperature 0. Latencies in ms from autocannon's per-response times.`,
      '',
      '| path | req/s | p50 ms | p99 ms | mean ms | failed |',
      '|---|---:|---:|---:|---:|---:|',
      row('direct to node: POST /v1/generate (token ids, signed)', direct),
      row('via edge: POST /v1/completions (tokenize, route, sign, detokenize)', viaEdge),
      `| **added by the edge** | | **${fmt(addedP50)}** | **${fmt(addedP99)}** | ${fmt(viaEdge.mean - direct.mean)} | |`,
      '',
      `Targets: p50 <= 0.5 ms, p99 <= 2 ms added at 1,000 req/s on 2 cores: ${addedP50 <= 0.5 ? 'p50 met' : 'p50 NOT met'}, ${addedP99 <= 2 ? 'p99 met' : 'p99 NOT met'}${RATE === 1000 ? '' : ` (this run used ${RATE} req/s)`}.`,
      '',
      `SSE time to first byte (stream: true, max_tokens 16, ${TTFB_COUNT} sequential requests): direct p50 ${fmt(ttfb.dp50)} / p99 ${fmt(ttfb.dp99)} ms, via edge p50 ${fmt(ttfb.ep50)} / p99 ${fmt(ttfb.ep99)} ms; overhead p50 ${fmt(ttfb.ep50 - ttfb.dp50)} ms, p99 ${fmt(ttfb.ep99 - ttfb.dp99)} ms. (The edge sends headers once the first token has arrived, so a node that fails before it can be retried elsewhere.)`,
    ].join('\n');
    console.log(md);
    replaceBenchSection('edge', md);
  } finally {
    await Promise.all([edge.stop(), node.stop()]);
  }
}

main().catch((e: Error) => {
  console.error(`bench:edge: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});

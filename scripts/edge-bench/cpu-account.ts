/**
 * The edge benchmark's account of issue #7 (edge router overhead): this run's CPU per request of the
 * edge over the node link and over HTTP, where the rest goes, and why the p99 target depends on the
 * machine more than on the edge. The history is text, not live: it records what each change
 * measured in its A/B runs on this machine, with the commands that measured them.
 */
import type { Measured } from './report.ts';

const us = (x: number) => x.toFixed(0);

export function cpuAccountMarkdown(m: Measured): string[] {
  const link = m.viaEdge.cpu;
  const http = m.viaEdgeHttp.cpu;
  const bare = m.bare.cpu;
  const w = (p: Measured['direct']) => p.runQueueWait.loadgen + (Number.isFinite(p.runQueueWait.hop) ? p.runQueueWait.hop : 0) + p.runQueueWait.node;
  return [
    "### Where the edge's CPU per request goes (issue #7)",
    '',
    `This run, CPU per request: over the node link the edge used ${us(link.hop)} us and the node ${us(link.node)} us (${us(link.hop + link.node)} us for the two); over HTTP (ABQ_NODE_LINK=false) the edge ${us(http.hop)} us and the node ${us(http.node)} us (${us(http.hop + http.node)} us); the bare node:http hop ${us(bare.hop)} us and the node behind it ${us(bare.node)} us. History of the HTTP path: 703 us of edge CPU (1.9x the bare hop, added p50 0.692 / p99 62.6 ms) as of commit d4a5078; 540 us (1.74x, added p50 0.538 / p99 14.9 ms) after the round that ended at commit 8b0036c.`,
    '',
    "**The node link** (edge/link/, gpu-node/server/link/; docs/EDGE.md, \"Node link\") replaces, per generation, the edge's undici exchange (request head, response parsing), the HMAC signature (one challenge-response per connection instead) and the node's HTTP parsing, Hono routing and signature check by one frame each way (a 9-byte header and the JSON body; TOKEN and DONE frames back, written in one `writev`). The node's CPU per request halves; the edge's falls less, because what remains of it is mostly the client-facing HTTP server and the socket writes themselves.",
    '',
    'Earlier changes on the HTTP path, each measured as edge CPU us/req at 1,000 req/s, median of 7-9 alternating 2 s rounds of the tree with and without it in one run (single rounds vary by 10-15% here, so a few percent is noise):',
    '',
    '| change | edge CPU us/req |',
    '|---|---:|',
    "| node hop over undici `Pool.dispatch()` with one NodeExchange per request (handler, response and body reader in one object) instead of `Pool.request()` (an AsyncResource, an abort listener and a stream.Readable body per call) | 604 -> 580 |",
    '| that, plus: a client-gone callback (`RequestIO.onClientGone`, one EventEmitter listener) instead of an AbortController per request linked by an EventTarget listener to the per-attempt one; the HMAC key imported once (a KeyObject); one histogram bucket per observation; no per-request Set, closures or spreads on the hot path | 625 -> 526 |',
    "| size, auth and rate-limit middlewares return `next()` without an async wrapper; validation messages built only on rejection | 485 -> 475 |",
    "| a request body that came with the headers is taken with `read()` at once instead of flowing through 'data'/'end' events on later ticks (edge/node-request-io.ts; the node server shares it) | 440 -> 400 |",
    '',
    "Where the link edge's CPU goes now: `npm run bench:edge -- --only fixed --no-doc --repeat 1 --edge-prof DIR`, summarised by `npx tsx scripts/edge-bench/profile-summary.ts DIR/*.cpuprofile` (shares of busy samples, self time): the two socket writes per request (`writeBuffer`, the REQUEST frame to the node, 14%; `writev`, the response to the client, 12%: wall-clock samples of system calls that wake the peer process in this VM), @hono/node-server, Hono and node:http's server (parsing, responding) about 14%, GC 7%, the edge's own handlers, dispatch and the link about 15% together, the tokenizer 4%, tsx's `keepNames` wrappers 4-5%, AbortSignals 2-3%. undici and the HMAC are gone from the profile. No single piece is worth a large cut; the writes are one per direction and cannot be batched at this rate (one request per millisecond leaves nothing to batch with).",
    '',
    `Where the p99 comes from: the table above the SSE line gives each process's run-queue wait per request. On this 2-core VM every path has a tail without any edge in it: the direct path's own p99 is ${m.direct.load.p99.toFixed(1)} ms against a p50 of ${m.direct.load.p50.toFixed(2)} ms, and ${((m.direct.load.times.filter((t) => t > m.direct.load.p50 + 2).length / Math.max(1, m.direct.load.times.length)) * 100).toFixed(1)}% of its requests already take over p50 + 2 ms, while its two processes wait ${us(w(m.direct))} us per request in the run queue. A hop adds a third process that must get a core twice per request (${us(w(m.viaEdge))} us of run-queue wait per request over the link, ${us(w(m.viaEdgeHttp))} over HTTP, ${us(w(m.bare))} for the bare hop). So "added p99", a difference of two p99s that each sit in this scheduling tail, moves by several milliseconds between runs of the same tree (the per-run figures above), for the bare forwarder as for the edge; the median over runs is what the verdict uses, and a single run can land on either side of 2 ms.`,
    '',
  ];
}

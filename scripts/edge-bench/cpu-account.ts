/**
 * The edge benchmark's account of where the edge's CPU per request goes (issue #7): this run's
 * figures next to those measured while cutting it, with the commands that measured them. The
 * history is text, not live: it records what each change measured in its A/B runs on this machine.
 */
import type { Measured } from './report.ts';

const us = (x: number) => x.toFixed(0);

export function cpuAccountMarkdown(m: Measured): string[] {
  const edge = m.viaEdge.cpu.hop;
  const bare = m.bare.cpu.hop;
  return [
    "### Where the edge's CPU per request goes (issue #7)",
    '',
    `This run: the edge used ${us(edge)} us of CPU per request, ${(edge / bare).toFixed(2)}x the bare node:http hop (${us(bare)} us). Before this round (the section as of commit d4a5078): 703 us, 1.9x the bare hop (369 us), added p50 0.692 / p99 62.6 ms.`,
    '',
    'Changes, each measured as edge CPU us/req at 1,000 req/s, median of 7-9 alternating 2 s rounds of the tree with and without it in one run (a probe script around edge-bench/measure.ts; single rounds vary by 10-15% here, so a few percent is noise):',
    '',
    '| change | edge CPU us/req |',
    '|---|---:|',
    "| node hop over undici `Pool.dispatch()` with one NodeExchange per request (handler, response and body reader in one object) instead of `Pool.request()` (an AsyncResource, an abort listener and a stream.Readable body per call) | 604 -> 580 |",
    '| that, plus: a client-gone callback (`RequestIO.onClientGone`, one EventEmitter listener) instead of an AbortController per request linked by an EventTarget listener to the per-attempt one; the HMAC key imported once (a KeyObject); one histogram bucket per observation; no per-request Set, closures or spreads on the hot path | 625 -> 526 |',
    "| size, auth and rate-limit middlewares return `next()` without an async wrapper; validation messages built only on rejection | 485 -> 475 |",
    "| a request body that came with the headers is taken with `read()` at once instead of flowing through 'data'/'end' events on later ticks (edge/node-request-io.ts; the node server shares it) | 440 -> 400 |",
    '| all of it, against the tree before this round | 595 -> 485 (bare hop 310) |',
    '',
    "Where the rest goes: `--edge-prof` on this benchmark, summarised by `npx tsx scripts/edge-bench/profile-summary.ts DIR/*.cpuprofile` (self time charged to the innermost package or repo folder on the stack; shares of busy samples, before -> after): edge code (handlers, dispatch, node hop, HMAC, metrics, AbortSignals) 28% -> 27%; undici 18% -> 18%; socket writes 17% -> 17% (wall-clock samples: this includes time the edge waited for a core after waking its peer); node:http server, @hono/node-server and Hono 12% -> 11%; Node streams, events and ticks 11% -> 12%; tokenizer 4% -> 4%; GC 3% -> 3%. The busy time per profiled request fell 754 -> 537 us; the shares barely moved because the cuts were spread over many small pieces, none of them large on its own.",
    '',
    'The floor: a Hono app on @hono/node-server that reads the body, signs and forwards it to the node over the same undici pool and returns the answer, with none of the edge logic, measured 355 us/req against 339 for the bare node:http hop in the same run. So the framework and the HTTP client cost no more than a bare Node forwarder; what the edge adds on top (about 150 us/req now) is its own work: tokenizing (about 20-40 us), the HMAC (about 20 us: node:crypto, already the cheapest of createHmac with a string, with a KeyObject, with copied hash states, or @noble/hashes), one AbortController per attempt and its listener (about 10-15 us), JSON, validation, routing, detokenizing and metrics. Hot-loop microbenchmarks put each of these at a few microseconds; at 1,000 req/s each request finds the caches cold (the process slept while the node and the load generator ran), which multiplies them by 5-10.',
    '',
    "The p99 target is out of reach on this 2-core machine for any Node hop: the bare forwarder alone adds 3-13 ms at p99 (queueing behind the other three processes on two cores).",
    '',
  ];
}

/**
 * @module
 * The GPU node's HTTP API (Hono; started by main.ts on @hono/node-server). It takes token ids, never
 * text: the edge tokenizes. Protocol: edge/backends/node-protocol.ts.
 *
 *   POST /v1/generate  -> SSE of token ids (with logprobs on request)
 *   GET  /health       -> model, queue depth, running sequences, free KV blocks, planned memory
 *   GET  /metrics      -> Prometheus (prom-client)
 *
 * Admission, batching and cancellation belong to the backend's scheduler (gpu-node/engine/scheduler.ts):
 * its refusals map to HTTP here (RangeError 400, SchedulerRefusal 503, anything else 500).
 *
 * Every route requires the edge's HMAC signature (401 otherwise); /metrics may be made public
 * for a scraper with `metricsPublic`.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import type { GeneratedToken, InferenceBackend } from '../../edge/backends/backend.ts';
import type { NodeHealth, NodeWholeAnswer } from '../../edge/backends/node-protocol.ts';
import { SchedulerRefusal, type ScheduledBackend } from '../engine/scheduler.ts';
import { DEFAULT_SLOTS, isScheduled, slotGatedBackend, type ServedBackend } from './slot-gated-backend.ts';
import { createNodeMetrics, type NodeMetrics } from './metrics.ts';
import { requireEdgeSignature } from './verify-signature.ts';
import { BadRequest, parseGenerateBody } from './parse-generate.ts';
import { webRequestIO, type RequestIO } from '../../edge/lib/request-io.ts';
import { ApiError } from '../../edge/errors.ts';

export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface NodeAppOptions {
  /** A ScheduledBackend (load-backend.ts); a plain InferenceBackend is served behind a slot gate. */
  backend: ScheduledBackend | InferenceBackend;
  /** Model ids this node serves (reported in /health). */
  modelIds: string[];
  secret: string;
  /** Plain backends only: streams at once and waiting requests (a ScheduledBackend has its own limits). */
  slots?: number;
  maxQueue?: number;
  metricsPublic?: boolean;
  /** How handlers read bodies and client aborts (main.ts passes edge/node-request-io.ts). */
  requestIO?: RequestIO;
}

export interface NodeApp {
  app: Hono;
  backend: ServedBackend;
  metrics: NodeMetrics;
  health(): NodeHealth;
}

const encoder = new TextEncoder();
const event = (name: string | undefined, data: unknown) => encoder.encode(`${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(data)}\n\n`);

export function createNodeApp(opts: NodeAppOptions): NodeApp {
  const backend: ServedBackend = isScheduled(opts.backend) ? opts.backend : slotGatedBackend(opts.backend, opts.slots, opts.maxQueue);
  const metrics = createNodeMetrics(backend);
  const app = new Hono();
  const io = opts.requestIO ?? webRequestIO;
  const signed = requireEdgeSignature(opts.secret, (reason) => metrics.authFailures.inc({ reason }), io, MAX_BODY_BYTES);
  const health = (): NodeHealth => {
    const s = backend.stats();
    const base = { status: s.draining ? 'draining' : 'ok', backend: backend.id, models: opts.modelIds, queue_depth: s.queued, active: s.running } as const;
    if (!backend.info) {
      const slots = opts.slots ?? DEFAULT_SLOTS;
      return { ...base, free_kv_slots: Math.max(0, slots - s.running), max_slots: slots };
    }
    const { memory, ...info } = backend.info;
    return {
      ...base,
      free_kv_slots: Math.max(0, info.maxSeqs - s.running),
      max_slots: info.maxSeqs,
      kv_blocks_free: s.freeBlocks,
      kv_blocks_total: s.totalBlocks,
      kv_block_size: info.blockSize,
      preemptions: s.preemptions,
      max_batch_tokens: info.maxBatchTokens,
      context_length: info.contextLength,
      memory: {
        total_bytes: memory.totalBytes,
        weight_bytes: memory.weightBytes,
        kv_bytes: memory.kvBytes,
        workspace_bytes: memory.workspaceBytes,
        ...(memory.deviceFreeBytes === undefined ? {} : { device_free_bytes: memory.deviceFreeBytes }),
        ...(memory.deviceTotalBytes === undefined ? {} : { device_total_bytes: memory.deviceTotalBytes }),
      },
      engine: info.description,
    };
  };
  const fail = (status: 400 | 404 | 413 | 500 | 503, message: string, code: string) => {
    metrics.requests.inc({ outcome: code });
    return new Response(JSON.stringify({ error: { message, code } }), { status, headers: { 'content-type': 'application/json' } });
  };

  app.get('/health', signed, (c) => c.json(health()));
  const metricsGuard: MiddlewareHandler = opts.metricsPublic ? async (_c, next) => next() : signed;
  app.get('/metrics', metricsGuard, async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));

  app.post('/v1/generate', async (c, next) => {
    const len = Number(c.req.header('content-length') ?? 0);
    if (len > MAX_BODY_BYTES) return fail(413, `body of ${len} bytes exceeds ${MAX_BODY_BYTES}`, 'too_large');
    return next();
  }, signed, async (c) => {
    let req;
    try {
      req = parseGenerateBody(await io.text(c, MAX_BODY_BYTES));
    } catch (e) {
      if (e instanceof BadRequest) return fail(400, e.message, 'bad_request');
      throw e;
    }
    if (!backend.supports(req.model)) return fail(404, `this node serves ${opts.modelIds.join(', ')}, not '${req.model}'`, 'model_not_found');
    const controller = new AbortController();
    const clientSignal = io.signal(c);
    clientSignal.addEventListener('abort', () => controller.abort(), { once: true });
    const started = performance.now();
    const it = backend.generate({ ...req, signal: controller.signal })[Symbol.asyncIterator]();
    let first: IteratorResult<GeneratedToken>;
    try {
      first = await it.next(); // waits in the scheduler's queue, then for the prefill
    } catch (e) {
      if (e instanceof RangeError) return fail(400, e.message, 'bad_request');
      if (e instanceof SchedulerRefusal) return fail(503, e.message, e.code);
      return fail(500, `backend ${backend.id} failed: ${(e as Error).message}`, 'backend_error');
    }
    if (first.done && controller.signal.aborted) return fail(503, 'client left while queued', 'aborted');
    metrics.ttft.observe((performance.now() - started) / 1000);
    metrics.promptTokens.inc(req.tokens.length);
    if (!req.stream) {
      // One piece: one JSON write instead of SSE events, a done event and the chunked terminator.
      const tokens: GeneratedToken[] = [];
      try {
        for (let r = first; !r.done; r = await it.next()) tokens.push(r.value);
      } catch (e) {
        return fail(500, `backend ${backend.id} failed: ${(e as Error).message}`, 'backend_error');
      }
      metrics.tokens.inc(tokens.length);
      metrics.requests.inc({ outcome: 'ok' });
      const answer: NodeWholeAnswer = { tokens, finish_reason: tokens.length < req.maxTokens ? 'stop' : 'length', completion_tokens: tokens.length };
      return c.json(answer);
    }
    let count = 0;
    let pending: IteratorResult<GeneratedToken> | undefined = first;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        try {
          const r = pending ?? (await it.next());
          pending = undefined;
          if (r.done) {
            const finish = count < req.maxTokens ? 'stop' : 'length';
            ctrl.enqueue(event('done', { finish_reason: finish, completion_tokens: count }));
            ctrl.close();
            metrics.requests.inc({ outcome: 'ok' });
            return;
          }
          count++;
          metrics.tokens.inc();
          ctrl.enqueue(event(undefined, r.value));
        } catch (e) {
          ctrl.enqueue(event('error', { message: `backend ${backend.id} failed: ${(e as Error).message}`, code: 'backend_error' }));
          ctrl.close();
          metrics.requests.inc({ outcome: 'backend_error' });
        }
      },
      cancel() {
        controller.abort();
        void it.return?.(undefined)?.catch(() => undefined);
        metrics.requests.inc({ outcome: 'cancelled' });
      },
    });
    // `chunked` also tells @hono/node-server not to wait (on a timer) for more chunks before sending.
    return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'transfer-encoding': 'chunked' } });
  });

  app.notFound((c) => c.json({ error: { message: `no route ${c.req.method} ${c.req.path}`, code: 'not_found' } }, 404));
  app.onError((err, c) => {
    if (err instanceof ApiError && err.status === 413) return fail(413, err.message, 'too_large'); // a chunked body over MAX_BODY_BYTES
    console.error('node: request failed:', err);
    return c.json({ error: { message: 'internal error on the node', code: 'internal_error' } }, 500);
  });
  return { app, backend, metrics, health };
}

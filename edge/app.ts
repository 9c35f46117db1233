/**
 * @module
 * The edge app: one runtime-free Hono app (web-standard Request/Response only). edge/node.ts and
 * edge/worker.ts are the only files that know their runtime; they load models and call
 * `createEdgeApp`. All routes are registered in the one table below.
 *
 * @example
 *     const { app } = createEdgeApp({ config: parseEdgeConfig(env), models: [stories], localBackends: [wasm] });
 *     const res = await app.request('/v1/models');
 */
import { Hono } from 'hono';
import { apiCors } from './middleware/cors.ts';
import type { MiddlewareHandler } from 'hono';
import type { EdgeConfig } from './config.ts';
import { ApiError, toApiError } from './errors.ts';
import type { InferenceBackend } from './backends/backend.ts';
import type { FetchLike, RequestSigner } from './backends/remote-node.ts';
import type { NodeLinkTransport } from './link/node-links.ts';
import { NodeRegistry } from './routing/registry.ts';
import { HealthChecker } from './routing/health-checker.ts';
import { createEdgeMetrics } from './metrics.ts';
import { RateLimiter, rateLimit } from './middleware/rate-limit.ts';
import { apiKeyAuth } from './middleware/api-key.ts';
import type { EdgeEnv, EdgeRuntime, ServedModel } from './runtime-types.ts';
import { chatCompletionsHandler, completionsHandler } from './api/generation-routes.ts';
import { healthzHandler, metricsHandler, modelsHandler } from './api/info-routes.ts';
import { heartbeatHandler } from './api/heartbeat-route.ts';
import { EDGE_HEARTBEAT_PATH } from './backends/node-protocol.ts';
import { PLAYGROUND_HTML } from './playground/page.ts';
import { checkBodySize, webRequestIO, type RequestIO } from './lib/request-io.ts';

export interface EdgeAppOptions {
  config: EdgeConfig;
  models: ServedModel[];
  /** Backends the edge runs itself (the WASM engine), used when no GPU node can serve. */
  localBackends?: InferenceBackend[];
  /** fetch used to reach nodes (tests and Node may pass their own). */
  fetch?: FetchLike;
  /** Signs requests to nodes (default shared/auth's signRequest; Node passes edge/node-sign.ts). */
  sign?: RequestSigner;
  /** Node only: links to the nodes that offer one (edge/link/node-links.ts); HTTP for the rest. */
  link?: NodeLinkTransport;
  now?: () => number;
  /** 'timer' (Node: a background interval), 'per-request' (Workers: checks ride on requests), 'off'. */
  healthChecks?: 'timer' | 'per-request' | 'off';
  /** How handlers read bodies and client aborts (Node passes edge/node-request-io.ts). */
  requestIO?: RequestIO;
}

export interface EdgeApp {
  app: Hono<EdgeEnv>;
  runtime: EdgeRuntime;
  /** Stops background timers (Node). */
  close(): void;
}

/** Workers: run due health checks in the background of a request (waitUntil keeps them alive). */
function healthOnRequest(rt: EdgeRuntime): MiddlewareHandler<EdgeEnv> {
  return async function healthOnRequestMiddleware(c, next) {
    const round = rt.health?.maybeCheck();
    if (round) {
      try {
        c.executionCtx.waitUntil(round);
      } catch {
        // No execution context (plain app.request in tests): the promise runs on its own.
      }
    }
    return next();
  };
}

export function createEdgeApp(opts: EdgeAppOptions): EdgeApp {
  const timeOrigin = performance.timeOrigin; // a getter, measurably slow per call on Node 20
  const now = opts.now ?? (() => performance.now() + timeOrigin);
  const { config } = opts;
  const registry = new NodeRegistry(config, opts.fetch, () => Date.now(), opts.sign, opts.link);
  const metrics = createEdgeMetrics(() => registry, opts.link);
  const health = config.nodeSecret
    ? new HealthChecker({ registry, secret: config.nodeSecret, intervalMs: config.healthIntervalMs, timeoutMs: config.healthTimeoutMs, fetch: opts.fetch })
    : undefined;
  const localBackends = opts.localBackends ?? [];
  const rt: EdgeRuntime = {
    config,
    models: new Map(opts.models.map((m) => [m.id, m])),
    registry,
    health,
    metrics,
    localBackends,
    dispatchDeps: { registry, localBackends, maxRetries: config.maxRetries, firstTokenTimeoutMs: config.firstTokenTimeoutMs, metrics },
    rateLimiter: new RateLimiter(config.rateLimitPerMinute, config.rateLimitBurst),
    now,
    io: opts.requestIO ?? webRequestIO,
  };

  const app = new Hono<EdgeEnv>();
  const auth = apiKeyAuth(config.apiKeys, rt.io);
  const limit = rateLimit(rt.rateLimiter, () => metrics.rateLimited.inc());
  // Not async, like auth and limit: Hono's compose awaits what a middleware returns and catches what
  // it throws, so an async wrapper would only add a promise per request.
  const sizeLimit: MiddlewareHandler<EdgeEnv> = function sizeLimitMiddleware(c, next) {
    const reading = checkBodySize(rt.io, c, config.maxBodyBytes);
    return reading ? reading.then(() => next()) : next();
  };
  const healthMode = opts.healthChecks ?? 'off';
  if (healthMode === 'per-request') app.use('*', healthOnRequest(rt));
  if (healthMode === 'timer') health?.start();

  // ---- route table ----
  app.get('/', (c) => c.html(PLAYGROUND_HTML));
  app.get('/healthz', healthzHandler(rt));
  app.get('/metrics', auth, metricsHandler(rt));
  app.use('/v1/*', apiCors({ allowHeaders: ['authorization', 'content-type'], exposeHeaders: ['x-abq-served-by', 'x-abq-backend', 'x-abq-retries'] }));
  app.get('/v1/models', auth, modelsHandler(rt));
  app.post('/v1/completions', sizeLimit, auth, limit, completionsHandler(rt));
  app.post('/v1/chat/completions', sizeLimit, auth, limit, chatCompletionsHandler(rt));
  app.post(EDGE_HEARTBEAT_PATH, sizeLimit, heartbeatHandler(rt));

  app.notFound((c) => new ApiError(`no route for ${c.req.method} ${new URL(c.req.url).pathname}; see GET /v1/models, POST /v1/completions, POST /v1/chat/completions`, { type: 'not_found_error', code: 'unknown_route' }).getResponse());
  app.onError((err, c) => {
    const api = toApiError(err);
    if (api.status >= 500 && !(err instanceof ApiError)) console.error(`edge: ${c.req.method} ${c.req.path} failed:`, err);
    if (c.req.path.startsWith('/v1/')) metrics.requests.inc({ endpoint: c.req.path.slice(4), served_by: 'none', status: String(api.status) });
    return api.getResponse();
  });

  return {
    app,
    runtime: rt,
    close: () => {
      health?.stop();
      opts.link?.close();
    },
  };
}

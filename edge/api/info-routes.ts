/**
 * GET /v1/models, GET /healthz (edge status plus each node's health, used by the playground) and
 * GET /metrics (Prometheus text).
 */
import type { Context } from 'hono';
import type { EdgeEnv, EdgeRuntime } from '../runtime-types.ts';
import { isRoutable } from '../routing/select-node.ts';

export function modelsHandler(rt: EdgeRuntime) {
  return function listModels(c: Context<EdgeEnv>): Response {
    const nodes = rt.registry.list();
    return c.json({
      object: 'list',
      data: [...rt.models.values()].map((m) => ({
        id: m.id,
        object: 'model',
        created: m.created,
        owned_by: 'abq-serve',
        context_length: m.contextLength,
        gpu_nodes: nodes.filter((n) => isRoutable(n, m.id)).length,
        wasm_fallback: rt.localBackends.some((b) => b.supports(m.id)),
      })),
    });
  };
}

export function healthzHandler(rt: EdgeRuntime) {
  return function healthz(c: Context<EdgeEnv>): Response {
    const nodes = rt.registry.list().map((n) => ({
      id: n.id,
      status: n.status,
      breaker: n.breaker.state,
      outstanding: n.outstanding,
      queue_depth: n.queueDepth,
      free_kv_slots: n.freeSlots,
      models: n.status === 'unknown' ? n.declaredModels : n.models,
      source: n.source,
      ...(n.lastError ? { last_error: n.lastError } : {}),
    }));
    const servable = [...rt.models.keys()].filter((m) => rt.localBackends.some((b) => b.supports(m)) || rt.registry.list().some((n) => isRoutable(n, m)));
    return c.json({
      status: servable.length > 0 ? 'ok' : 'degraded',
      models: [...rt.models.keys()],
      servable_models: servable,
      wasm: rt.localBackends.map((b) => ({ id: b.id, kind: b.kind })),
      nodes,
    }, servable.length > 0 ? 200 : 503);
  };
}

export function metricsHandler(rt: EdgeRuntime) {
  return function metrics(c: Context<EdgeEnv>): Response {
    return c.text(rt.metrics.registry.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  };
}

/**
 * The edge's metrics (Prometheus text at GET /metrics). `served_by` is the path that answered:
 * `gpu` (a GPU node), `wasm` (the edge's own engine) or `none` (rejected before generating).
 */
import { Counter, Gauge, Histogram, PromRegistry } from './lib/prom-text.ts';
import type { NodeRegistry } from './routing/registry.ts';
import type { NodeLinkTransport } from './link/node-links.ts';

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createEdgeMetrics(registry: () => NodeRegistry | undefined, link?: NodeLinkTransport) {
  const reg = new PromRegistry();
  const breakerCode = { closed: 0, 'half-open': 1, open: 2 } as const;
  return {
    registry: reg,
    requests: reg.register(new Counter('abq_edge_requests_total', 'API requests by endpoint, HTTP status and serving path')),
    tokens: reg.register(new Counter('abq_edge_generated_tokens_total', 'Tokens streamed to clients, by model and serving path')),
    retries: reg.register(new Counter('abq_edge_node_retries_total', 'Requests retried on another node after a failure before the first token')),
    nodeFailures: reg.register(new Counter('abq_edge_node_failures_total', 'Node failures by node and phase (before_first_token, mid_stream)')),
    rateLimited: reg.register(new Counter('abq_edge_rate_limited_total', 'Requests refused by the per-key rate limit')),
    ttft: reg.register(new Histogram('abq_edge_time_to_first_token_seconds', 'Time from request to first token, by serving path', LATENCY_BUCKETS_S)),
    duration: reg.register(new Histogram('abq_edge_request_duration_seconds', 'Whole request time, by endpoint and serving path', LATENCY_BUCKETS_S)),
    nodeUp: reg.register(
      new Gauge('abq_edge_node_up', 'Node health as last seen (1 up, 0 otherwise)', (g) => {
        g.reset();
        for (const n of registry()?.list() ?? []) g.set({ node: n.id }, n.status === 'up' ? 1 : 0);
      }),
    ),
    nodeOutstanding: reg.register(
      new Gauge('abq_edge_node_outstanding', 'Requests this edge has in flight per node', (g) => {
        g.reset();
        for (const n of registry()?.list() ?? []) g.set({ node: n.id }, n.outstanding);
      }),
    ),
    nodeRequests: reg.register(
      new Gauge(
        'abq_edge_node_requests_total',
        'Generations sent to each node, by transport (link: the persistent node link; http: POST /v1/generate)',
        (g) => {
          g.reset();
          for (const n of registry()?.list() ?? []) for (const t of ['http', 'link'] as const) g.set({ node: n.id, transport: t }, n.backend.sent[t]);
        },
        'counter',
      ),
    ),
    nodeLinkUp: reg.register(
      new Gauge('abq_edge_node_link_up', 'Whether the edge holds an authenticated link to the node now (1) or not (0: not yet opened, closed, or HTTP only)', (g) => {
        g.reset();
        for (const n of registry()?.list() ?? []) g.set({ node: n.id }, link?.isUp(n.url) ? 1 : 0);
      }),
    ),
    nodeBreaker: reg.register(
      new Gauge('abq_edge_node_breaker_state', 'Circuit breaker per node (0 closed, 1 half-open, 2 open)', (g) => {
        g.reset();
        for (const n of registry()?.list() ?? []) g.set({ node: n.id }, breakerCode[n.breaker.state]);
      }),
    ),
  };
}

export type EdgeMetrics = ReturnType<typeof createEdgeMetrics>;

/** The node's Prometheus metrics (prom-client; the node server runs on Node only). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SlotPool } from './slots.ts';

export function createNodeMetrics(slots: SlotPool, backendId: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ backend: backendId });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({ name: 'abq_node_requests_total', help: 'Generate requests by outcome', labelNames: ['outcome'], registers: [registry] }),
    tokens: new Counter({ name: 'abq_node_generated_tokens_total', help: 'Tokens generated', registers: [registry] }),
    promptTokens: new Counter({ name: 'abq_node_prompt_tokens_total', help: 'Prompt tokens prefilled', registers: [registry] }),
    ttft: new Histogram({ name: 'abq_node_time_to_first_token_seconds', help: 'Request start to first token', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [registry] }),
    authFailures: new Counter({ name: 'abq_node_auth_failures_total', help: 'Requests refused for a bad signature', labelNames: ['reason'], registers: [registry] }),
    active: new Gauge({ name: 'abq_node_active_streams', help: 'Streams generating now', registers: [registry], collect() { this.set(slots.active); } }),
    queue: new Gauge({ name: 'abq_node_queue_depth', help: 'Requests waiting for a slot', registers: [registry], collect() { this.set(slots.queued); } }),
  };
}

export type NodeMetrics = ReturnType<typeof createNodeMetrics>;

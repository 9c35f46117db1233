/**
 * The node's Prometheus metrics (prom-client; the node server runs on Node only). Gauges read the
 * scheduler's stats at scrape time; the step histograms are fed by the scheduler after every step.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServedBackend } from './slot-gated-backend.ts';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const COUNT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

export function createNodeMetrics(backend: ServedBackend) {
  const registry = new Registry();
  registry.setDefaultLabels({ backend: backend.id });
  collectDefaultMetrics({ register: registry });
  const stats = () => backend.stats();
  let preemptionsSeen = 0;
  const m = {
    registry,
    requests: new Counter({ name: 'abq_node_requests_total', help: 'Generate requests by outcome', labelNames: ['outcome'], registers: [registry] }),
    tokens: new Counter({ name: 'abq_node_generated_tokens_total', help: 'Tokens generated', registers: [registry] }),
    promptTokens: new Counter({ name: 'abq_node_prompt_tokens_total', help: 'Prompt tokens of requests that started', registers: [registry] }),
    ttft: new Histogram({ name: 'abq_node_time_to_first_token_seconds', help: 'Request start to first token (queueing and prefill included)', buckets: LATENCY_BUCKETS, registers: [registry] }),
    authFailures: new Counter({ name: 'abq_node_auth_failures_total', help: 'Requests refused for a bad signature', labelNames: ['reason'], registers: [registry] }),
    running: new Gauge({ name: 'abq_node_running_sequences', help: 'Sequences admitted (holding KV blocks)', registers: [registry], collect() { this.set(stats().running); } }),
    queue: new Gauge({ name: 'abq_node_queue_depth', help: 'Requests waiting for admission', registers: [registry], collect() { this.set(stats().queued); } }),
    freeBlocks: new Gauge({ name: 'abq_node_kv_blocks_free', help: 'Free KV cache blocks', registers: [registry], collect() { this.set(stats().freeBlocks); } }),
    totalBlocks: new Gauge({ name: 'abq_node_kv_blocks_total', help: 'KV cache blocks in the pool', registers: [registry], collect() { this.set(stats().totalBlocks); } }),
    preemptions: new Counter({
      name: 'abq_node_preemptions_total',
      help: 'Sequences preempted for lack of KV blocks (recomputed on readmission)',
      registers: [registry],
      collect() {
        const now = stats().preemptions;
        if (now > preemptionsSeen) this.inc(now - preemptionsSeen);
        preemptionsSeen = now;
      },
    }),
    batchSeqs: new Histogram({ name: 'abq_node_batch_sequences', help: 'Sequences per engine step', buckets: COUNT_BUCKETS, registers: [registry] }),
    batchTokens: new Histogram({ name: 'abq_node_batch_tokens', help: 'Tokens per engine step (decodes + prompt chunks)', buckets: COUNT_BUCKETS, registers: [registry] }),
    stepSeconds: new Histogram({ name: 'abq_node_step_seconds', help: 'Engine step latency', buckets: LATENCY_BUCKETS, registers: [registry] }),
    stepFailures: new Counter({ name: 'abq_node_step_failures_total', help: 'Engine steps that failed (their requests failed)', registers: [registry] }),
  };
  const unsubscribe = backend.onStep((e) => {
    m.batchSeqs.observe(e.seqs);
    m.batchTokens.observe(e.tokens);
    m.stepSeconds.observe(e.seconds);
    if (!e.ok) m.stepFailures.inc();
  });
  return { ...m, close: unsubscribe };
}

export type NodeMetrics = ReturnType<typeof createNodeMetrics>;

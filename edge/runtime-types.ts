/**
 * The state one edge app holds, shared by its handlers: configuration, served models (each with its
 * tokenizer), the node registry, health checker, metrics and local backends.
 */
import type { EdgeConfig } from './config.ts';
import type { EdgeTokenizer } from './tokenizer.ts';
import type { InferenceBackend } from './backends/backend.ts';
import type { NodeRegistry } from './routing/registry.ts';
import type { HealthChecker } from './routing/health-checker.ts';
import type { EdgeMetrics } from './metrics.ts';
import type { DispatchDeps, ServedPath } from './serve/dispatch.ts';
import type { RateLimiter } from './middleware/rate-limit.ts';
import type { RequestIO } from './lib/request-io.ts';

export interface ServedModel {
  id: string;
  tokenizer: EdgeTokenizer;
  contextLength: number;
  /** Unix seconds, for GET /v1/models. */
  created: number;
}

export interface EdgeRuntime {
  config: EdgeConfig;
  models: Map<string, ServedModel>;
  registry: NodeRegistry;
  health: HealthChecker | undefined;
  metrics: EdgeMetrics;
  localBackends: InferenceBackend[];
  dispatchDeps: DispatchDeps;
  rateLimiter: RateLimiter;
  now: () => number;
  /** Body and client-abort access (edge/lib/request-io.ts). */
  io: RequestIO;
}

/** Values handlers and middleware put on the Hono context. */
export type EdgeEnv = { Variables: { clientKey: string; servedBy: ServedPath } };

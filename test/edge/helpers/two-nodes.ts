/**
 * Shared scaffolding of the routing suites that run an edge in front of two real node processes
 * (routing.test.ts over signed HTTP, link-routing.test.ts over the node link).
 */
import type { EdgeApp } from '../../../edge/app.ts';
import type { NodeProcess } from './node-process.ts';
import { TEST_SECRET } from './fixtures.ts';

/** Health-check period of these edges: short, so a killed or restarted node is noticed quickly. */
export const HEALTH_INTERVAL_MS = 150;

/** Polls `cond` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Edge settings for these suites (the test secret, fast health checks and breaker, no rate limit), then `extra`. */
export function routingEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ABQ_NODE_SECRET: TEST_SECRET,
    ABQ_HEALTH_INTERVAL_MS: String(HEALTH_INTERVAL_MS),
    ABQ_BREAKER_COOLDOWN_MS: '300',
    ABQ_RATE_LIMIT_PER_MINUTE: '0',
    ...extra,
  };
}

/** ABQ_NODES for nodes `a` and `b`, both serving stories260K. */
export function twoNodes(nodes: Record<string, NodeProcess>): string {
  return JSON.stringify([{ id: 'a', url: nodes.a.url, models: ['stories260K'] }, { id: 'b', url: nodes.b.url, models: ['stories260K'] }]);
}

/** Resolves once the edge's registry has every node up. */
export function allNodesUp(edge: EdgeApp): Promise<void> {
  return waitFor(() => edge.runtime.registry.list().every((n) => n.status === 'up'), 'both nodes up');
}

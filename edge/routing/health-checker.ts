/**
 * Active health checks: a signed GET /health to every node, with a timeout. On Node a timer drives
 * it (`start`); on Workers, where an isolate cannot keep timers between requests, each request calls
 * `maybeCheck` and the check runs in the background (`waitUntil`) once the interval has passed.
 */
import { signRequest, SIGNATURE_HEADER } from '../../shared/auth/index.ts';
import { NODE_HEALTH_PATH, type NodeHealth } from '../backends/node-protocol.ts';
import type { FetchLike } from '../backends/remote-node.ts';
import type { NodeEntry, NodeRegistry } from './registry.ts';

export interface HealthCheckerOptions {
  registry: NodeRegistry;
  secret: string;
  intervalMs: number;
  timeoutMs: number;
  fetch?: FetchLike;
  now?: () => number;
}

function isNodeHealth(x: unknown): x is NodeHealth {
  const h = x as NodeHealth;
  return !!h && (h.status === 'ok' || h.status === 'draining') && Array.isArray(h.models) && typeof h.queue_depth === 'number';
}

export class HealthChecker {
  private lastRun = 0;
  private running: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly now: () => number;

  constructor(private readonly opts: HealthCheckerOptions) {
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
    this.now = opts.now ?? Date.now;
  }

  async checkNode(entry: NodeEntry): Promise<void> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.opts.timeoutMs);
    try {
      const signature = await signRequest({ secret: this.opts.secret, method: 'GET', path: NODE_HEALTH_PATH });
      const res = await this.fetchImpl(entry.url + NODE_HEALTH_PATH, { headers: { [SIGNATURE_HEADER]: signature }, signal: controller.signal });
      const body: unknown = await res.json().catch(() => undefined);
      if (res.status !== 200 || !isNodeHealth(body)) throw new Error(`health check answered HTTP ${res.status}`);
      this.opts.registry.applyHealth(entry, body);
    } catch (e) {
      const msg = controller.signal.aborted ? `health check timed out after ${this.opts.timeoutMs} ms` : (e as Error).message;
      this.opts.registry.applyHealth(entry, new Error(msg));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Checks every node once (concurrent calls share one round). */
  checkAll(): Promise<void> {
    this.running ??= Promise.all(this.opts.registry.list().map((n) => this.checkNode(n)))
      .then(() => undefined)
      .finally(() => {
        this.lastRun = this.now();
        this.running = undefined;
      });
    return this.running;
  }

  /** Runs a round when the interval has passed; returns its promise (for waitUntil) or undefined. */
  maybeCheck(): Promise<void> | undefined {
    if (this.running || this.now() - this.lastRun < this.opts.intervalMs) return undefined;
    this.lastRun = this.now();
    return this.checkAll();
  }

  start(): void {
    if (this.timer) return;
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.opts.intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

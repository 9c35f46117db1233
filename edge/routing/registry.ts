/**
 * The GPU nodes the edge knows: those from configuration (ABQ_NODES / wrangler vars) and those that
 * registered themselves with signed heartbeats (they expire when heartbeats stop). Each entry keeps
 * the last health report, the edge's own count of requests in flight, and a circuit breaker.
 */
import type { EdgeConfig, StaticNode } from '../config.ts';
import { RemoteNodeBackend, type FetchLike, type RequestSigner } from '../backends/remote-node.ts';
import type { NodeHealth, NodeHeartbeat } from '../backends/node-protocol.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { NodeLinkTransport } from '../link/node-links.ts';

export type NodeStatus = 'unknown' | 'up' | 'down' | 'draining';

/**
 * Consecutive failed health checks before a node that was up is marked down: one slow /health
 * under load should not pull a busy, working node out of rotation. (A failed request marks it down
 * at once: that is evidence from real traffic.)
 */
export const HEALTH_FAILURES_TO_DOWN = 2;

export interface NodeEntry {
  id: string;
  url: string;
  source: 'config' | 'heartbeat';
  declaredModels: string[];
  status: NodeStatus;
  /** Models from the last health report or heartbeat. */
  models: string[];
  queueDepth: number;
  freeSlots: number;
  lastError?: string;
  checkedAt: number;
  /** Failed health checks in a row. */
  healthFailures: number;
  /** Requests this edge has in flight on the node. */
  outstanding: number;
  breaker: CircuitBreaker;
  backend: RemoteNodeBackend;
  /** Heartbeat-registered nodes vanish after this time (ms since epoch). */
  expiresAt?: number;
}

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeEntry>();

  constructor(
    private readonly config: EdgeConfig,
    private readonly fetchImpl?: FetchLike,
    private readonly now: () => number = Date.now,
    private readonly sign?: RequestSigner,
    private readonly link?: NodeLinkTransport,
  ) {
    for (const n of config.nodes) this.add(n, 'config');
  }

  private add(n: StaticNode, source: NodeEntry['source']): NodeEntry {
    const entry: NodeEntry = {
      id: n.id,
      url: n.url,
      source,
      declaredModels: n.models ?? [],
      status: 'unknown',
      models: [],
      queueDepth: 0,
      freeSlots: 0,
      checkedAt: 0,
      healthFailures: 0,
      outstanding: 0,
      breaker: new CircuitBreaker(this.config.breakerFailures, this.config.breakerCooldownMs, this.now),
      backend: undefined as unknown as RemoteNodeBackend,
    };
    entry.backend = new RemoteNodeBackend({
      id: `node:${n.id}`,
      url: n.url,
      secret: this.config.nodeSecret ?? '',
      fetch: this.fetchImpl,
      sign: this.sign,
      link: this.link,
      supports: (model) => servesModel(entry, model),
    });
    this.nodes.set(n.id, entry);
    return entry;
  }

  list(): NodeEntry[] {
    this.expire();
    return [...this.nodes.values()];
  }

  get(id: string): NodeEntry | undefined {
    return this.nodes.get(id);
  }

  /** Applies a health report (or a failed check when `health` is an Error). */
  applyHealth(entry: NodeEntry, health: NodeHealth | Error): void {
    entry.checkedAt = this.now();
    if (health instanceof Error) {
      entry.healthFailures++;
      if (entry.status !== 'up' || entry.healthFailures >= HEALTH_FAILURES_TO_DOWN) entry.status = 'down';
      entry.lastError = health.message;
      return;
    }
    entry.healthFailures = 0;
    entry.status = health.status === 'draining' ? 'draining' : 'up';
    entry.models = health.models;
    entry.queueDepth = health.queue_depth;
    entry.freeSlots = health.free_kv_slots;
    entry.lastError = undefined;
  }

  /** Adds or refreshes a self-registered node from a verified heartbeat. */
  applyHeartbeat(hb: NodeHeartbeat): NodeEntry {
    let entry = this.nodes.get(hb.id);
    if (entry && entry.url !== hb.url.replace(/\/+$/, '')) {
      this.nodes.delete(hb.id);
      entry = undefined;
    }
    entry ??= this.add({ id: hb.id, url: hb.url.replace(/\/+$/, ''), models: hb.models }, 'heartbeat');
    this.applyHealth(entry, { status: hb.status, backend: 'unknown', models: hb.models, queue_depth: hb.queue_depth, active: 0, free_kv_slots: hb.free_kv_slots, max_slots: 0 });
    if (entry.source === 'heartbeat') entry.expiresAt = this.now() + this.config.heartbeatTtlMs;
    return entry;
  }

  private expire(): void {
    const t = this.now();
    for (const [id, e] of this.nodes) if (e.expiresAt !== undefined && e.expiresAt < t && e.outstanding === 0) this.nodes.delete(id);
  }
}

/** A node serves a model when its last report lists it, or (before any report) when configuration says so. */
export function servesModel(entry: NodeEntry, model: string): boolean {
  return entry.status === 'unknown' ? entry.declaredModels.includes(model) : entry.models.includes(model);
}

/**
 * Self-registration: the node POSTs a signed heartbeat to the edge every `intervalMs`, so an edge
 * with ABQ_ALLOW_REGISTRATION=true routes to it without configuration. Failures are logged once per
 * streak, not per beat.
 */
import { signRequest, SIGNATURE_HEADER } from '../../shared/auth/index.ts';
import { EDGE_HEARTBEAT_PATH, type NodeHealth, type NodeHeartbeat } from '../../edge/backends/node-protocol.ts';

export interface HeartbeatOptions {
  edgeUrl: string;
  nodeId: string;
  publicUrl: string;
  secret: string;
  intervalMs: number;
  health: () => NodeHealth;
}

export function startHeartbeat(opts: HeartbeatOptions): () => void {
  let failing = false;
  const beat = async () => {
    const h = opts.health();
    const hb: NodeHeartbeat = { id: opts.nodeId, url: opts.publicUrl, models: h.models, status: h.status, queue_depth: h.queue_depth, free_kv_slots: h.free_kv_slots };
    const body = JSON.stringify(hb);
    try {
      const signature = await signRequest({ secret: opts.secret, method: 'POST', path: EDGE_HEARTBEAT_PATH, body });
      const res = await fetch(opts.edgeUrl.replace(/\/+$/, '') + EDGE_HEARTBEAT_PATH, { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature }, body });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      if (failing) console.log(`node: heartbeat to ${opts.edgeUrl} works again`);
      failing = false;
    } catch (e) {
      if (!failing) console.error(`node: heartbeat to ${opts.edgeUrl} failed: ${(e as Error).message}`);
      failing = true;
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), opts.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

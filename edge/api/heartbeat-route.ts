/**
 * POST /internal/nodes/heartbeat: self-registration of GPU nodes. The body must be signed with the
 * shared node secret (same scheme as edge-to-node requests, shared/auth); the edge adds or refreshes
 * the node, which expires after ABQ_HEARTBEAT_TTL_MS without a heartbeat.
 */
import type { Context } from 'hono';
import { verifyRequest, ReplayCache, SIGNATURE_HEADER } from '../../shared/auth/index.ts';
import { ApiError } from '../errors.ts';
import type { EdgeEnv, EdgeRuntime } from '../runtime-types.ts';
import { EDGE_HEARTBEAT_PATH, type NodeHeartbeat } from '../backends/node-protocol.ts';
import { parseJsonBody } from './parse-request.ts';

const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function parseHeartbeat(body: Record<string, unknown>): NodeHeartbeat {
  const { id, url, models, status, queue_depth, free_kv_slots } = body;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new ApiError('heartbeat id must match [A-Za-z0-9._-]{1,64}', { type: 'invalid_request_error', param: 'id' });
  if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/.test(url)) throw new ApiError('heartbeat url must be an http(s) URL', { type: 'invalid_request_error', param: 'url' });
  if (!Array.isArray(models) || models.some((m) => typeof m !== 'string')) throw new ApiError('heartbeat models must be an array of strings', { type: 'invalid_request_error', param: 'models' });
  return {
    id,
    url,
    models: models as string[],
    status: status === 'draining' ? 'draining' : 'ok',
    queue_depth: Number.isFinite(queue_depth) ? Number(queue_depth) : 0,
    free_kv_slots: Number.isFinite(free_kv_slots) ? Number(free_kv_slots) : 0,
  };
}

export function heartbeatHandler(rt: EdgeRuntime) {
  const replay = new ReplayCache();
  return async function nodeHeartbeat(c: Context<EdgeEnv>): Promise<Response> {
    if (!rt.config.allowRegistration || !rt.config.nodeSecret) {
      throw new ApiError('node self-registration is disabled on this edge; set ABQ_ALLOW_REGISTRATION=true', { type: 'not_found_error', code: 'registration_disabled' });
    }
    const text = await rt.io.text(c, rt.config.maxBodyBytes);
    const v = await verifyRequest({ secret: rt.config.nodeSecret, header: rt.io.header(c, SIGNATURE_HEADER), method: 'POST', path: EDGE_HEARTBEAT_PATH, body: text, replayCache: replay });
    if (!v.ok) throw new ApiError(`heartbeat signature rejected (${v.reason})`, { type: 'authentication_error', code: 'bad_signature' });
    const entry = rt.registry.applyHeartbeat(parseHeartbeat(parseJsonBody(text)));
    return c.json({ ok: true, id: entry.id, ttl_ms: rt.config.heartbeatTtlMs });
  };
}

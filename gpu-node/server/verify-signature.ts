/**
 * Middleware: every request must carry a valid, unexpired, unreplayed `x-abq-signature` from the edge
 * (shared/auth). Anything else gets 401 before any work is done.
 */
import type { MiddlewareHandler } from 'hono';
import { ReplayCache, SIGNATURE_HEADER, verifyRequest } from '../../shared/auth/index.ts';

export function requireEdgeSignature(secret: string, onReject?: (reason: string) => void): MiddlewareHandler {
  const replay = new ReplayCache();
  return async function requireEdgeSignatureMiddleware(c, next) {
    const url = new URL(c.req.url);
    const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : await c.req.text();
    const v = await verifyRequest({ secret, header: c.req.header(SIGNATURE_HEADER), method: c.req.method, path: url.pathname + url.search, body, replayCache: replay });
    if (!v.ok) {
      onReject?.(v.reason);
      return c.json({ error: { message: `request signature rejected (${v.reason}): only the edge, holding the shared secret, may call this node`, code: 'bad_signature' } }, 401);
    }
    return next();
  };
}

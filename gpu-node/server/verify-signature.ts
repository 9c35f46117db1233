/**
 * Middleware: every request must carry a valid, unexpired, unreplayed `x-abq-signature` from the edge
 * (shared/auth). Anything else gets 401 before any work is done.
 */
import type { MiddlewareHandler } from 'hono';
import { ReplayCache, SIGNATURE_HEADER, verifyRequest } from '../../shared/auth/index.ts';
import { webRequestIO, type RequestIO } from '../../edge/lib/request-io.ts';

export function requireEdgeSignature(secret: string, onReject?: (reason: string) => void, io: RequestIO = webRequestIO, maxBodyBytes = Infinity): MiddlewareHandler {
  const replay = new ReplayCache();
  return async function requireEdgeSignatureMiddleware(c, next) {
    // Path and query as signed: everything after the origin (cheaper than new URL per request).
    const url = c.req.url;
    const pathAndQuery = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    const body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : await io.text(c, maxBodyBytes);
    const v = await verifyRequest({ secret, header: c.req.header(SIGNATURE_HEADER), method: c.req.method, path: pathAndQuery, body, replayCache: replay });
    if (!v.ok) {
      onReject?.(v.reason);
      return c.json({ error: { message: `request signature rejected (${v.reason}): only the edge, holding the shared secret, may call this node`, code: 'bad_signature' } }, 401);
    }
    return next();
  };
}

/**
 * CORS for the API (any origin, as OpenAI-style APIs called from browsers need). Preflights go to
 * hono/cors. Other requests get their headers after the handler, on the response it returned:
 * hono/cors sets them on `c.res` before the handler, which makes Hono merge two responses
 * (`new Response(res.body, res)`), and on @hono/node-server reading `.body` turns the lightweight
 * response into a full undici one, measured at about 5% of the edge's CPU per request.
 *
 * Hot handlers can do better still: `jsonResponse()` puts the CORS headers into the response's
 * plain header record up front, so nothing reads `res.headers` afterwards. On @hono/node-server
 * that keeps the response on its fast path (the record goes straight to `writeHead`); touching
 * `.headers` builds a web Headers object and then converts it back, per request.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

declare module 'hono' {
  interface ContextVariableMap {
    /** The CORS headers of the apiCors middleware handling this request (for jsonResponse). */
    apiCorsHeaders: Record<string, string>;
    /** The response jsonResponse built with those headers (a WeakSet of them cost more per request). */
    apiCorsResponse: Response;
  }
}

export function apiCors(opts: { allowHeaders: string[]; exposeHeaders: string[] }): MiddlewareHandler {
  const preflight = cors({ origin: '*', allowHeaders: opts.allowHeaders, exposeHeaders: opts.exposeHeaders });
  const expose = opts.exposeHeaders.join(',');
  const record: Record<string, string> = { 'access-control-allow-origin': '*', ...(expose ? { 'access-control-expose-headers': expose } : {}) };
  return async function apiCorsMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    c.set('apiCorsHeaders', record);
    await next();
    if (c.get('apiCorsResponse') === c.res) return;
    const h = c.res.headers;
    for (const k in record) h.set(k, record[k]);
  };
}

/**
 * A JSON response whose headers are one plain record, including the CORS headers when apiCors
 * handles the request (same result as `c.json(body, status, headers)` behind apiCors).
 */
export function jsonResponse(c: Context, body: unknown, status: number, headers: Record<string, string>): Response {
  const corsHeaders = c.get('apiCorsHeaders') as Record<string, string> | undefined;
  const record: Record<string, string> = { 'content-type': 'application/json' };
  for (const k in headers) record[k] = headers[k];
  for (const k in corsHeaders) record[k] = corsHeaders[k];
  const res = new Response(JSON.stringify(body), { status, headers: record });
  if (corsHeaders) c.set('apiCorsResponse', res);
  return res;
}

/**
 * CORS for the API (any origin, as OpenAI-style APIs called from browsers need). Preflights go to
 * hono/cors. Other requests get their headers set after the handler, on the response it returned:
 * hono/cors sets them on `c.res` before the handler, which makes Hono merge two responses
 * (`new Response(res.body, res)`), and on @hono/node-server reading `.body` turns the lightweight
 * response into a full undici one, measured at about 5% of the edge's CPU per request.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

export function apiCors(opts: { allowHeaders: string[]; exposeHeaders: string[] }): MiddlewareHandler {
  const preflight = cors({ origin: '*', allowHeaders: opts.allowHeaders, exposeHeaders: opts.exposeHeaders });
  const expose = opts.exposeHeaders.join(',');
  return async function apiCorsMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    await next();
    const h = c.res.headers;
    h.set('access-control-allow-origin', '*');
    if (expose) h.set('access-control-expose-headers', expose);
  };
}

/**
 * Client authentication: `Authorization: Bearer <key>` checked against ABQ_API_KEYS. With no keys
 * configured the API is open (node.ts prints a warning). The key's name is stored as `clientKey`
 * for rate limiting and logs; the key itself is never logged.
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';
import type { ClientKey } from '../config.ts';
import type { EdgeEnv } from '../runtime-types.ts';
import { webRequestIO, type RequestIO } from '../lib/request-io.ts';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function apiKeyAuth(keys: readonly ClientKey[], io: Pick<RequestIO, 'header'> = webRequestIO): MiddlewareHandler<EdgeEnv> {
  const byKey = new Map(keys.map((k) => [k.key, k.name]));
  // Not async: it decides synchronously, and Hono's compose catches what it throws.
  return function apiKeyAuthMiddleware(c, next) {
    if (byKey.size === 0) {
      c.set('clientKey', io.header(c, 'cf-connecting-ip') ?? io.header(c, 'x-forwarded-for')?.split(',')[0]?.trim() ?? 'anonymous');
      return next();
    }
    const header = io.header(c, 'authorization');
    const m = header ? BEARER.exec(header) : null;
    if (!m) {
      throw new ApiError("missing API key: send 'Authorization: Bearer <key>'", { type: 'authentication_error', code: 'missing_api_key', headers: { 'www-authenticate': 'Bearer' } });
    }
    const name = byKey.get(m[1]);
    if (name === undefined) {
      throw new ApiError('incorrect API key provided; check the key or ask the operator for one', { type: 'authentication_error', code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer' } });
    }
    c.set('clientKey', name);
    return next();
  };
}

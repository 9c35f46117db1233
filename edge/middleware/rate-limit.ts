/**
 * Per-key rate limit: a token bucket per client key (refill `perMinute`/60 per second, capacity
 * `burst`). State lives in the isolate/process: on Workers each isolate limits on its own, so for a
 * global limit bind Cloudflare's Rate Limiting API or a Durable Object (docs/EDGE.md).
 */
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.ts';
import type { EdgeEnv } from '../runtime-types.ts';

const MAX_BUCKETS = 100_000;

interface Bucket {
  tokens: number;
  updated: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  constructor(
    readonly perMinute: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    if (this.perMinute <= 0) return 0;
    const t = this.now();
    const rate = this.perMinute / 60_000;
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear(); // memory bound; a reset only ever lets clients through early
      this.buckets.set(key, (b = { tokens: this.burst, updated: t }));
    }
    b.tokens = Math.min(this.burst, b.tokens + (t - b.updated) * rate);
    b.updated = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate / 1000);
  }
}

export function rateLimit(limiter: RateLimiter, onLimited?: () => void): MiddlewareHandler<EdgeEnv> {
  // Not async: it decides synchronously, and Hono's compose catches what it throws.
  return function rateLimitMiddleware(c, next) {
    const wait = limiter.take(c.get('clientKey'));
    if (wait > 0) {
      onLimited?.();
      throw new ApiError(`rate limit reached for this key (${limiter.perMinute} requests/minute, burst ${limiter.burst}); retry in ${wait} s`, {
        type: 'rate_limit_error',
        code: 'rate_limit_exceeded',
        headers: { 'retry-after': String(wait) },
      });
    }
    return next();
  };
}

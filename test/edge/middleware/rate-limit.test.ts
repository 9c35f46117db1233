import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../edge/middleware/rate-limit.ts';

describe('RateLimiter (token bucket per key)', () => {
  it('allows the burst, then refills at the configured rate, per key', () => {
    let now = 0;
    const l = new RateLimiter(60, 2, () => now); // one per second, burst 2
    expect(l.take('k')).toBe(0);
    expect(l.take('k')).toBe(0);
    expect(l.take('k')).toBe(1);
    expect(l.take('other')).toBe(0);
    now = 1000;
    expect(l.take('k')).toBe(0);
    expect(l.take('k')).toBeGreaterThan(0);
  });

  it('is off at 0 per minute', () => {
    const l = new RateLimiter(0, 1);
    for (let i = 0; i < 100; i++) expect(l.take('k')).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { HubError } from '../../../shared/hub/errors.ts';
import { withRetries } from '../../../shared/hub/with-retries.ts';

const asIs = (e: unknown) => e;

describe('withRetries', () => {
  it('retries network and server errors with growing delays, then succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const value = await withRetries(async () => {
      calls++;
      if (calls === 1) throw new HubError('network', 'reset');
      if (calls === 2) throw new HubError('server', '503', { status: 503 });
      return 'ok';
    }, asIs, { retries: 3, baseDelayMs: 4, onRetry: (_e, _a, d) => delays.push(d) });
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(delays[0]).toBeGreaterThanOrEqual(2);
    expect(delays[0]).toBeLessThanOrEqual(4);
    expect(delays[1]).toBeGreaterThanOrEqual(4);
    expect(delays[1]).toBeLessThanOrEqual(8);
  });

  it('never retries auth or not-found errors', async () => {
    for (const kind of ['auth-missing', 'auth-rejected', 'repo-not-found', 'revision-not-found', 'checksum-mismatch', 'disk-full'] as const) {
      let calls = 0;
      const err = await withRetries(async () => {
        calls++;
        throw new HubError(kind, kind);
      }, asIs, { retries: 5, baseDelayMs: 1 }).catch((e: HubError) => e);
      expect(err.kind).toBe(kind);
      expect(calls, kind).toBe(1);
    }
  });

  it('gives up after the last retry and says how many attempts it made', async () => {
    const err = await withRetries(async () => {
      throw new HubError('server', 'down');
    }, asIs, { retries: 2, baseDelayMs: 1 }).catch((e: HubError) => e);
    expect(err.attempts).toBe(3);
    expect(err.message).toBe('down (gave up after 3 attempts)');
  });

  it('passes unrecognised errors through untouched, without retrying', async () => {
    const bug = new RangeError('a bug');
    let calls = 0;
    await expect(withRetries(async () => {
      calls++;
      throw bug;
    }, asIs, { retries: 3, baseDelayMs: 1 })).rejects.toBe(bug);
    expect(calls).toBe(1);
  });
});

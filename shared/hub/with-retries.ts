/**
 * Runs a Hub operation again after network failures and 5xx answers, waiting longer each time
 * (exponential backoff with jitter, so many clients hit by one outage do not come back in step).
 * Never retries 401/403/404 or anything it does not recognise: those do not heal by waiting.
 */
import { HubError } from './errors.ts';

export const DEFAULT_RETRIES = 4;
export const DEFAULT_BASE_DELAY_MS = 500;
export const MAX_DELAY_MS = 16_000;

export interface RetryOptions {
  /** Extra attempts after the first (0 = try once). */
  retries?: number;
  /** First wait; doubled on each further retry, capped at MAX_DELAY_MS. */
  baseDelayMs?: number;
  /** Told about each retry before the wait (for a progress line). */
  onRetry?: (error: HubError, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

export async function withRetries<T>(
  run: (attempt: number) => Promise<T>,
  classify: (err: unknown) => unknown,
  options: RetryOptions = {},
): Promise<T> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  const base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run(attempt);
    } catch (raw) {
      const err = classify(raw);
      if (!(err instanceof HubError)) throw err;
      err.attempts = attempt;
      if (!err.retryable || attempt > retries || options.signal?.aborted) {
        if (attempt > 1) err.message += ` (gave up after ${attempt} attempts)`;
        throw err;
      }
      const delay = Math.min(MAX_DELAY_MS, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      options.onRetry?.(err, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

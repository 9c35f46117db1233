import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../edge/routing/circuit-breaker.ts';

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures, half-opens after the cooldown, closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker(3, 1000, () => now);
    b.onFailure();
    b.onFailure();
    b.onSuccess(); // a success resets the count
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('closed');
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.acquire()).toBe(false);
    now = 1000;
    expect(b.state).toBe('half-open');
    expect(b.acquire()).toBe(true);
    expect(b.acquire()).toBe(false); // one trial at a time
    b.onSuccess();
    expect(b.state).toBe('closed');
  });

  it('doubles the cooldown when the half-open trial fails', () => {
    let now = 0;
    const b = new CircuitBreaker(1, 1000, () => now);
    b.onFailure();
    now = 1000;
    expect(b.acquire()).toBe(true);
    b.onFailure();
    now = 2500;
    expect(b.state).toBe('open');
    now = 3000;
    expect(b.state).toBe('half-open');
  });
});

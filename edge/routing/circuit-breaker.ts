/**
 * Per-node circuit breaker. Closed: requests flow. After `failureThreshold` consecutive failures it
 * opens and the node gets no traffic for `cooldownMs`; then it is half-open and lets exactly one
 * trial request through: success closes it, failure opens it again with the cooldown doubled
 * (capped), so a flapping node is probed less and less often.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

const MAX_COOLDOWN_FACTOR = 16;

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trips = 0;
  private trialInFlight = false;
  private stateValue: BreakerState = 'closed';

  constructor(
    private readonly failureThreshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.currentCooldown()) {
      this.stateValue = 'half-open';
      this.trialInFlight = false;
    }
    return this.stateValue;
  }

  /** Whether a request may be sent now (does not reserve the half-open trial; see `acquire`). */
  canPass(): boolean {
    const s = this.state;
    return s === 'closed' || (s === 'half-open' && !this.trialInFlight);
  }

  /** Reserves the right to send one request; returns false when the breaker refuses. */
  acquire(): boolean {
    if (!this.canPass()) return false;
    if (this.stateValue === 'half-open') this.trialInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.failures = 0;
    this.trips = 0;
    this.trialInFlight = false;
    this.stateValue = 'closed';
  }

  onFailure(): void {
    this.trialInFlight = false;
    if (this.stateValue === 'half-open') return this.trip();
    this.failures++;
    if (this.failures >= this.failureThreshold) this.trip();
  }

  private trip(): void {
    this.stateValue = 'open';
    this.openedAt = this.now();
    this.trips++;
    this.failures = 0;
  }

  private currentCooldown(): number {
    return this.cooldownMs * Math.min(MAX_COOLDOWN_FACTOR, 2 ** Math.max(0, this.trips - 1));
  }
}

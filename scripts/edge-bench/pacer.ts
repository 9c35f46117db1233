/**
 * Open-loop pacing for autocannon: requests start on a fixed schedule (one every 1/rate seconds,
 * like wrk2's constant throughput), not in bursts.
 *
 * Why: autocannon's own `overallRate` is a per-second budget per connection. Each connection sends
 * back to back until it has used its share of the second, then waits for the next second, so at
 * 1,000 req/s over 16 connections the first part of every second is a saturated burst of 16
 * requests in flight and the rest is idle. The latency it reports is then the latency of a
 * 16-deep queue at full load, about 16x the slowest stage's CPU time per request, not the latency
 * at 1,000 req/s.
 *
 * How: autocannon calls `client._doRequest()` whenever a connection is free to send (at connect,
 * and after each response). The pacer replaces that method on each client (from the documented
 * `setupClient` hook) with "I am idle": idle connections wait in a FIFO queue, and a timer hands
 * each scheduled slot to the connection at the head. A slot that finds no idle connection waits
 * for the next one to free up; that wait is added to the request's latency (so an overloaded
 * server is not hidden by coordinated omission) and counted in `slotsWaited`. `_doRequest` is not
 * a documented API: `pace()` checks it is there and names the autocannon version it was written
 * against (8.0) when it is not.
 */

/** The part of autocannon's Client the pacer touches. */
export interface PacedClient {
  _doRequest(): void;
  destroyed?: boolean;
}

/** Timers fire no more precisely than this; slots falling due within it are sent together. */
const TIMER_GRANULARITY_MS = 1;

export class Pacer {
  /** Slots that found no idle connection when they fell due. */
  slotsWaited = 0;
  /** The longest time a slot waited for a connection, in ms. */
  maxWaitMs = 0;
  private readonly intervalMs: number;
  private readonly idle: PacedClient[] = [];
  private idleHead = 0;
  private readonly backlog: number[] = [];
  private readonly send = new Map<PacedClient, () => void>();
  private readonly waited = new Map<PacedClient, number>();
  private nextSlot = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(rate: number, private readonly now: () => number = () => performance.now()) {
    if (!(rate > 0)) throw new Error(`pacer: rate must be > 0 requests/s; got ${rate}`);
    this.intervalMs = 1000 / rate;
  }

  /** Takes over when `client` sends: call from autocannon's `setupClient`. */
  adopt(client: PacedClient): void {
    const original = client._doRequest;
    if (typeof original !== 'function') {
      throw new Error('pacer: this autocannon has no Client._doRequest (written against autocannon 8.0); pin autocannon 8 or update scripts/edge-bench/pacer.ts');
    }
    this.send.set(client, original.bind(client));
    client._doRequest = () => this.onIdle(client);
  }

  /** Starts the schedule now. */
  start(): void {
    this.nextSlot = this.now();
    this.tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** How long the request now in flight on `client` waited for a connection (ms), 0 normally. */
  waitedMs(client: PacedClient): number {
    return this.waited.get(client) ?? 0;
  }

  private tick = (): void => {
    const now = this.now();
    while (this.nextSlot <= now) {
      const client = this.takeIdle();
      if (client) this.dispatch(client, 0);
      else {
        this.backlog.push(this.nextSlot);
        this.slotsWaited++;
      }
      this.nextSlot += this.intervalMs;
    }
    this.timer = setTimeout(this.tick, Math.max(0, this.nextSlot - this.now() - TIMER_GRANULARITY_MS / 2));
  };

  private onIdle(client: PacedClient): void {
    if (client.destroyed) return;
    const due = this.backlog.shift();
    if (due !== undefined) {
      const wait = this.now() - due;
      this.maxWaitMs = Math.max(this.maxWaitMs, wait);
      this.dispatch(client, wait);
    } else this.idle.push(client);
  }

  private takeIdle(): PacedClient | undefined {
    while (this.idleHead < this.idle.length) {
      const c = this.idle[this.idleHead++];
      if (this.idleHead > 1024) {
        this.idle.splice(0, this.idleHead);
        this.idleHead = 0;
      }
      if (!c.destroyed) return c;
    }
    return undefined;
  }

  private dispatch(client: PacedClient, waitedMs: number): void {
    this.waited.set(client, waitedMs);
    this.send.get(client)!();
  }
}

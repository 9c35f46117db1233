/**
 * Concurrency control for one node: `maxSlots` sequences generate at once (one KV cache each); more
 * wait in a FIFO queue up to `maxQueue`, beyond which requests are refused (503, the edge retries
 * elsewhere). Draining refuses new work and resolves when the last stream has finished.
 */

export class SlotPool {
  private activeCount = 0;
  private readonly waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private drainWaiters: (() => void)[] = [];
  draining = false;

  constructor(
    readonly maxSlots: number,
    readonly maxQueue: number,
  ) {}

  get active(): number {
    return this.activeCount;
  }
  get queued(): number {
    return this.waiting.length;
  }
  get free(): number {
    return this.maxSlots - this.activeCount;
  }

  /** 'ok' when a slot was taken, else why not. Waits in the queue when all slots are busy. */
  async acquire(signal?: AbortSignal): Promise<'ok' | 'queue_full' | 'draining' | 'aborted'> {
    if (this.draining) return 'draining';
    if (this.activeCount < this.maxSlots) {
      this.activeCount++;
      return 'ok';
    }
    if (this.waiting.length >= this.maxQueue) return 'queue_full';
    return new Promise((resolve) => {
      const entry = {
        resolve: () => resolve('ok'),
        reject: () => resolve('aborted'),
      };
      this.waiting.push(entry);
      signal?.addEventListener('abort', () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          resolve('aborted');
        }
      }, { once: true });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next.resolve(); // the slot passes straight to the next request
    else this.activeCount--;
    if (this.activeCount === 0 && this.waiting.length === 0) {
      for (const w of this.drainWaiters) w();
      this.drainWaiters = [];
    }
  }

  /** Stops taking work; resolves once every active and queued stream is done. */
  drain(): Promise<void> {
    this.draining = true;
    if (this.activeCount === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}

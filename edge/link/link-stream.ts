/**
 * Node-only: the edge's end of one generation on a node link (node-link.ts feeds it frames). It is
 * the token iterator RemoteNodeBackend hands on, and fails with the same NodeErrors as the HTTP path:
 * an ERROR frame before any token carries its status (400 is the request's fault, 503 busy, ...);
 * an ERROR after tokens, or the link closing, is a failure mid-stream (beforeFirstToken false).
 *
 * Flow control: the node may send STREAM_WINDOW_TOKENS tokens beyond what this stream's reader has
 * taken; the reader's progress is granted back in CREDIT frames. So a slow client makes the node
 * stop generating for this stream only, and the edge never queues more than a window.
 */
import type { GeneratedToken } from '../backends/backend.ts';
import { NodeError } from '../backends/remote-node.ts';
import { FrameError, STREAM_WINDOW_TOKENS } from './frames.ts';

/** What a stream needs from its connection. */
export interface StreamOwner {
  sendCancel(id: number): void;
  sendCredit(id: number, tokens: number): void;
  forget(id: number): void;
}

type Waiter = { resolve(r: IteratorResult<GeneratedToken>): void; reject(e: unknown): void };

const DONE: IteratorResult<GeneratedToken> = { done: true, value: undefined };
const GRANT_STEP = STREAM_WINDOW_TOKENS / 2;

export class LinkStream implements AsyncIterator<GeneratedToken>, AsyncIterable<GeneratedToken> {
  private readonly queue: GeneratedToken[] = [];
  private head = 0;
  private ended = false;
  private error: unknown;
  private waiter: Waiter | undefined;
  /** Tokens the node has sent, the reader has taken, and the node may send in all. */
  private received = 0;
  private consumed = 0;
  private granted = STREAM_WINDOW_TOKENS;

  constructor(
    private readonly owner: StreamOwner,
    readonly id: number,
    private readonly backendId: string,
    private readonly signal: AbortSignal | undefined,
  ) {
    // The stream is the listener (handleEvent): no closure per request, as NodeExchange.
    signal?.addEventListener('abort', this, { once: true });
  }

  // ---- from the connection ----

  /** A TOKEN frame; throws FrameError when the node ignored the window. */
  onToken(t: GeneratedToken): void {
    if (this.ended) return;
    if (++this.received > this.granted) throw new FrameError(`stream ${this.id} sent ${this.received} tokens with ${this.granted} granted`);
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      this.consumed++;
      this.maybeGrant();
      w.resolve({ done: false, value: t });
      return;
    }
    this.queue.push(t);
  }

  onDone(): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.forget(this.id);
    if (this.head === this.queue.length) this.settle(DONE);
  }

  /** An ERROR frame: the status counts as HTTP's would only before the first token. */
  onError(status: number, message: string): void {
    const before = this.received === 0;
    this.fail(new NodeError(`node ${this.backendId} answered ${status} over its link: ${message}`, this.backendId, before, before ? status : undefined));
  }

  /** The connection is gone (closed, broken, or a protocol error). */
  onLinkClosed(reason: string): void {
    this.fail(new NodeError(`node ${this.backendId} link closed: ${reason}`, this.backendId, this.received === 0));
  }

  // ---- the reader ----

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<GeneratedToken>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++];
      if (this.head === this.queue.length) this.queue.length = this.head = 0;
      this.consumed++;
      this.maybeGrant();
      return Promise.resolve({ done: false, value });
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** The reader stops early: the node is told to stop generating. */
  return(): Promise<IteratorResult<GeneratedToken>> {
    this.cancel();
    return Promise.resolve(DONE);
  }

  /** The attempt's signal fired (client gone, first-token timeout): cancel and fail the reader. */
  handleEvent(): void {
    if (this.ended) return;
    const r = this.signal?.reason as unknown;
    this.cancel();
    this.settleError(r instanceof Error ? r : new DOMException('This operation was aborted', 'AbortError'));
  }

  // ---- internals ----

  private cancel(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = this.head = 0;
    this.owner.forget(this.id);
    this.owner.sendCancel(this.id);
  }

  private fail(e: NodeError): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.forget(this.id);
    // Tokens already queued are still delivered; the error comes after them, as on HTTP.
    this.error = e;
    if (this.head === this.queue.length) this.settleError(e);
  }

  private maybeGrant(): void {
    if (this.ended || this.granted - this.consumed > STREAM_WINDOW_TOKENS - GRANT_STEP) return;
    const more = this.consumed + STREAM_WINDOW_TOKENS - this.granted;
    this.granted += more;
    this.owner.sendCredit(this.id, more);
  }

  private settle(r: IteratorResult<GeneratedToken>): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve(r);
  }

  private settleError(e: unknown): void {
    this.error ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }
}

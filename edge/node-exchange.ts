/**
 * Node-only: one edge-to-node HTTP exchange for edge/node-fetch.ts. It is, at once, the undici
 * dispatch handler (the documented `DispatchHandler` API: onRequestStart ... onResponseEnd), the
 * light response the caller gets (FetchedResponse), and the reader of its body (ByteReader): one
 * object per request instead of a handler, a response, a header view and a stream.
 *
 * Body chunks go to whoever reads them: `text()`/`json()` join them at the end; `getReader()`
 * hands them out one by one (SSE). A reader that falls behind by more than MAX_QUEUED_BYTES pauses
 * the socket until it catches up (backpressure), as a stream.Readable would.
 */
import type { Dispatcher } from 'undici';
import type { FetchedResponse } from './backends/remote-node.ts';
import type { ByteReader, ByteSource } from './lib/sse-reader.ts';

/** Bytes a streamed body may queue ahead of its reader before the socket is paused. */
const MAX_QUEUED_BYTES = 64 * 1024;

type HeaderRecord = Record<string, string | string[] | undefined>;
type ReadResult = { done: boolean; value?: Uint8Array };
type Waiter = { resolve(v: ReadResult | string): void; reject(e: Error): void };
type BodyUse = 'unread' | 'text' | 'reader';

/** `get()` over undici's lower-cased header record (a web Headers object would cost more). */
class HeaderView {
  constructor(private readonly record: HeaderRecord) {}
  get(name: string): string | null {
    const v = this.record[name.toLowerCase()];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  }
}

const NO_HEADERS = new HeaderView({});

export class NodeExchange implements Dispatcher.DispatchHandler, FetchedResponse, ByteSource, ByteReader {
  /** Settles when the response head arrives (or the exchange fails before it). */
  readonly response: Promise<FetchedResponse>;
  status = 0;
  headers = NO_HEADERS;
  private resolveResponse!: (r: FetchedResponse) => void;
  private rejectResponse!: (e: Error) => void;
  private controller: Dispatcher.DispatchController | undefined;
  private started = false;
  private use: BodyUse = 'unread';
  private readonly chunks: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private error: Error | undefined;
  private waiting: Waiter | undefined;

  constructor(private readonly signal: AbortSignal | undefined) {
    this.response = new Promise<FetchedResponse>((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    // The exchange itself is the listener (handleEvent): no closure per request. It is not removed
    // when the exchange ends (removeEventListener measured at about 1% of the edge's CPU): callers
    // pass a signal per request (edge/serve/dispatch.ts makes one per attempt), which dies with it.
    signal?.addEventListener('abort', this, { once: true });
  }

  // ---- abort signal ----

  handleEvent(): void {
    if (this.ended || this.error) return;
    const reason = abortReason(this.signal);
    if (this.controller) this.controller.abort(reason); // undici answers with onResponseError
    else this.fail(reason); // still queued in the pool: onRequestStart aborts it when it comes up
  }

  // ---- undici DispatchHandler ----

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted) controller.abort(abortReason(this.signal));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: HeaderRecord): void {
    if (statusCode < 200) return; // 1xx: the real head follows
    this.started = true;
    this.status = statusCode;
    this.headers = new HeaderView(headers);
    this.resolveResponse(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const w = this.waiting;
    if (w && this.use === 'reader') {
      this.waiting = undefined;
      w.resolve({ done: false, value: chunk });
      return;
    }
    this.chunks.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.use !== 'text' && this.queuedBytes > MAX_QUEUED_BYTES) controller.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    w.resolve(this.use === 'text' ? this.joined() : { done: true });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  // ---- FetchedResponse ----

  get body(): ByteSource | null {
    return this.status === 204 || this.status === 304 ? null : this;
  }

  getReader(): ByteReader {
    this.take('reader');
    return this;
  }

  text(): Promise<string> {
    this.take('text');
    this.controller?.resume();
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(this.joined());
    return new Promise<string>((resolve, reject) => (this.waiting = { resolve: resolve as Waiter['resolve'], reject }));
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  // ---- ByteReader ----

  read(): Promise<ReadResult> {
    const next = this.chunks.shift();
    if (next) {
      this.queuedBytes -= next.length;
      if (this.queuedBytes <= MAX_QUEUED_BYTES) this.controller?.resume();
      return Promise.resolve({ done: false, value: next });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve({ done: true });
    return new Promise<ReadResult>((resolve, reject) => (this.waiting = { resolve: resolve as Waiter['resolve'], reject }));
  }

  /** Stops reading: the connection is closed (a half-read response cannot be reused). */
  cancel(): Promise<void> {
    const open = !this.ended && !this.error;
    this.ended = true; // first: the abort below reports back through onResponseError, to be ignored
    this.chunks.length = 0;
    if (open) this.controller?.abort(new Error('the reader cancelled the response'));
    return Promise.resolve();
  }

  releaseLock(): void {}

  // ---- internals ----

  private take(use: BodyUse): void {
    if (this.use !== 'unread') throw new TypeError('the response body was already read');
    this.use = use;
  }

  private joined(): string {
    const c = this.chunks;
    const text = c.length === 1 ? c[0].toString('utf8') : Buffer.concat(c).toString('utf8');
    c.length = 0;
    this.queuedBytes = 0;
    return text;
  }

  private fail(error: Error): void {
    if (this.error || this.ended) return;
    this.error = error;
    if (!this.started) return this.rejectResponse(error);
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(error);
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const r = signal?.reason as unknown;
  return r instanceof Error ? r : new DOMException('This operation was aborted', 'AbortError');
}

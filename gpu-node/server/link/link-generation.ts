/**
 * One generation on a node link: the link twin of app.ts's POST /v1/generate. The same body
 * (parseGenerateBody), the same refusals with the same statuses in an ERROR frame (400 bad input,
 * 404 unknown model, 503 busy or draining, 500 backend failure), the same metrics. Tokens go out as
 * TOKEN frames, then DONE; a backend failure after tokens is an ERROR frame, as the SSE error event.
 *
 * Backpressure: the next token is pulled from the backend only while the edge has granted credit
 * for this stream (flow control per stream, so one slow client does not stall the others) and the
 * socket is not backed up.
 */
import type { GeneratedToken } from '../../../edge/backends/backend.ts';
import { encodeDone, encodeError, encodeToken, type LinkErrorPayload } from '../../../edge/link/frames.ts';
import { SchedulerRefusal } from '../../engine/scheduler.ts';
import { BadRequest, parseGenerateBody } from '../parse-generate.ts';
import type { ServedBackend } from '../slot-gated-backend.ts';
import type { NodeMetrics } from '../metrics.ts';

/** What a generation needs from its connection. */
export interface GenerationOwner {
  readonly backend: ServedBackend;
  readonly modelIds: string[];
  readonly metrics: NodeMetrics;
  write(frame: Buffer): void;
  /** Resolves once the socket has room again (immediately when it has). */
  writable(): Promise<void> | undefined;
  forget(id: number): void;
}

export class LinkGeneration {
  private readonly controller = new AbortController();
  private it: AsyncIterator<GeneratedToken> | undefined;
  private credit: number;
  private wake: (() => void) | undefined;
  private cancelled = false;

  constructor(
    private readonly owner: GenerationOwner,
    readonly id: number,
    window: number,
  ) {
    this.credit = window;
  }

  /** Runs to the end; never throws (every failure becomes an ERROR frame). */
  async run(body: string): Promise<void> {
    const { backend, metrics } = this.owner;
    try {
      let req;
      try {
        req = parseGenerateBody(body);
      } catch (e) {
        if (e instanceof BadRequest) return this.fail({ status: 400, message: e.message, code: 'bad_request' });
        throw e;
      }
      if (!backend.supports(req.model)) return this.fail({ status: 404, message: `this node serves ${this.owner.modelIds.join(', ')}, not '${req.model}'`, code: 'model_not_found' });
      const started = performance.now();
      const it = (this.it = backend.generate({ ...req, signal: this.controller.signal })[Symbol.asyncIterator]());
      let r: IteratorResult<GeneratedToken>;
      try {
        r = await it.next(); // waits in the scheduler's queue, then for the prefill
      } catch (e) {
        if (e instanceof RangeError) return this.fail({ status: 400, message: e.message, code: 'bad_request' });
        if (e instanceof SchedulerRefusal) return this.fail({ status: 503, message: e.message, code: e.code });
        return this.fail({ status: 500, message: `backend ${backend.id} failed: ${(e as Error).message}`, code: 'backend_error' });
      }
      if (this.cancelled) return;
      metrics.ttft.observe((performance.now() - started) / 1000);
      metrics.promptTokens.inc(req.tokens.length);
      let count = 0;
      try {
        while (!r.done) {
          this.owner.write(encodeToken(this.id, r.value.token, r.value.logprob));
          count++;
          metrics.tokens.inc();
          if (--this.credit <= 0 || this.owner.writable()) await this.roomToSend();
          if (this.cancelled) return;
          r = await it.next();
          if (this.cancelled) return;
        }
      } catch (e) {
        if (this.cancelled) return;
        return this.fail({ status: 500, message: `backend ${backend.id} failed: ${(e as Error).message}`, code: 'backend_error' });
      }
      this.owner.write(encodeDone(this.id, count < req.maxTokens ? 'stop' : 'length', count));
      metrics.requests.inc({ outcome: 'ok' });
    } catch (e) {
      // Not expected (the cases above cover the backend's failures); the node must not crash on it.
      if (!this.cancelled) this.fail({ status: 500, message: `internal error on the node: ${(e as Error).message}`, code: 'internal_error' });
    } finally {
      this.owner.forget(this.id);
    }
  }

  /** The edge granted more tokens (CREDIT). */
  grant(tokens: number): void {
    this.credit += tokens;
    this.resume();
  }

  /** The edge cancelled the stream, or the connection is gone. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller.abort();
    void this.it?.return?.(undefined)?.catch(() => undefined);
    this.owner.metrics.requests.inc({ outcome: 'cancelled' });
    this.resume();
  }

  /** The socket drained. */
  resume(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async roomToSend(): Promise<void> {
    for (;;) {
      if (this.cancelled) return;
      const socketFull = this.owner.writable();
      if (socketFull) {
        await socketFull;
        continue;
      }
      if (this.credit > 0) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private fail(e: LinkErrorPayload): void {
    this.owner.metrics.requests.inc({ outcome: e.code });
    this.owner.write(encodeError(this.id, e));
  }
}

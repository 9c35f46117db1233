/**
 * How handlers read a request's body and learn that its client went away. Runtime-free default:
 * the web Request (`c.req.raw`). The Node entries pass edge/node-request-io.ts instead, which reads
 * node:http's IncomingMessage directly: on @hono/node-server, touching `c.req.raw.body`, `.text()`
 * or `.signal` builds a full undici Request (Readable.toWeb, makeTransferable), which measured as
 * the largest single CPU cost of a small POST (docs/EDGE.md, "Performance").
 */
import type { Context } from 'hono';
import { ApiError } from '../errors.ts';

export interface RequestIO {
  /** The body as UTF-8 text; more than `maxBytes` throws a 413 ApiError. Cached per request. */
  text(c: Context, maxBytes: number): Promise<string>;
  /** Aborted when the client goes away before the response has been sent. */
  signal(c: Context): AbortSignal;
  /**
   * Calls `listener` once if the client goes away before the response has been sent. The same event
   * as `signal`, for callers that only need a callback: on Node it costs an EventEmitter listener
   * instead of an AbortController and an EventTarget listener per request.
   */
  onClientGone(c: Context, listener: (reason: Error) => void): void;
  /** One request header by lower-case name. On Node this skips building a web Headers object. */
  header(c: Context, name: string): string | undefined;
}

export function tooLarge(maxBytes: number): ApiError {
  return new ApiError(`request body is larger than ${maxBytes} bytes; send a shorter prompt`, { type: 'invalid_request_error', code: 'request_too_large', status: 413 });
}

async function readLimited(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    all.set(ch, at);
    at += ch.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Web-standard request access (Workers, app.request in tests). */
export const webRequestIO: RequestIO = {
  text(c, maxBytes) {
    // Hono's own body cache, so c.req.text()/json() elsewhere see the same text.
    return ((c.req.bodyCache as { text?: Promise<string> }).text ??= readLimited(c.req.raw.body, maxBytes));
  },
  signal: (c) => c.req.raw.signal,
  onClientGone(c, listener) {
    const signal = c.req.raw.signal;
    const fire = () => listener(signal.reason instanceof Error ? signal.reason : new Error('the client went away'));
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  },
  header: (c, name) => c.req.header(name),
};

/**
 * Middleware-time size check: a declared content-length over the limit is refused without reading
 * (a synchronous throw, and undefined when it fits: no promise on the common path); a body without
 * one (chunked) is read now, under the limit, so it is refused before auth as well (the promise).
 */
export function checkBodySize(io: RequestIO, c: Context, maxBytes: number): Promise<string> | undefined {
  const declared = io.header(c, 'content-length');
  if (declared !== undefined && io.header(c, 'transfer-encoding') === undefined) {
    if (Number(declared) > maxBytes) throw tooLarge(maxBytes);
    return undefined;
  }
  return io.text(c, maxBytes);
}

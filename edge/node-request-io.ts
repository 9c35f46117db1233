/**
 * Node-only RequestIO (see edge/lib/request-io.ts for why): reads the body and headers from
 * node:http's IncomingMessage (on @hono/node-server, `c.req.header()` builds an undici Headers
 * object from all raw headers first) and derives the client-gone signal and callback from the
 * ServerResponse closing early, all from the `{ incoming, outgoing }` env that @hono/node-server passes to fetch. Without that env
 * (app.request in tests) it falls back to the web Request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { tooLarge, webRequestIO, type RequestIO } from './lib/request-io.ts';

interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<string> {
  if (incoming.complete && incoming.readableFlowing === null) {
    try {
      return Promise.resolve(readBuffered(incoming, maxBytes));
    } catch (e) {
      return Promise.reject(e as Error); // cached like any answer, so a second read sees the same 413
    }
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Inline listeners, not named consts: tsx (keepNames) names each one with a defineProperty per request.
    incoming.on('data', (chunk: Buffer) => {
      if (size > maxBytes) return; // refused already: the rest is read and dropped
      size += chunk.length;
      if (size > maxBytes) return reject(tooLarge(maxBytes)); // the 413 is sent once the handler throws
      chunks.push(chunk);
    });
    incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8')));
    incoming.once('error', reject);
  });
}

/**
 * The usual case: a small body that came in with the headers. The parser has seen the whole message
 * before any handler runs, so the body sits in the stream's buffer: read() takes it at once, instead
 * of switching the stream to flowing mode and waiting for 'data' and 'end' on later ticks. Throws
 * the 413 ApiError when it is over the limit.
 */
function readBuffered(incoming: IncomingMessage, maxBytes: number): string {
  const chunks: Buffer[] = [];
  let size = 0;
  for (let chunk: Buffer | null; (chunk = incoming.read() as Buffer | null) !== null; ) {
    size += chunk.length;
    if (size > maxBytes) {
      incoming.resume(); // drop whatever is left
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
}

const signals = new WeakMap<ServerResponse, AbortSignal>();
const CLIENT_CLOSED = 'the client closed the connection';

export const nodeRequestIO: RequestIO = {
  text(c: Context, maxBytes: number) {
    const incoming = (c.env as NodeBindings | undefined)?.incoming;
    if (!incoming) return webRequestIO.text(c, maxBytes);
    return ((c.req.bodyCache as { text?: Promise<string> }).text ??= readIncoming(incoming, maxBytes));
  },
  signal(c: Context) {
    const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
    if (!outgoing) return webRequestIO.signal(c);
    let signal = signals.get(outgoing);
    if (!signal) {
      const controller = new AbortController();
      outgoing.once('close', () => {
        if (!outgoing.writableFinished) controller.abort(new Error(CLIENT_CLOSED));
      });
      signals.set(outgoing, (signal = controller.signal));
    }
    return signal;
  },
  onClientGone(c: Context, listener: (reason: Error) => void) {
    const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
    if (!outgoing) return webRequestIO.onClientGone(c, listener);
    // Gone already: 'close' was emitted before anyone listened.
    if (outgoing.destroyed && !outgoing.writableFinished) return listener(new Error(CLIENT_CLOSED));
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) listener(new Error(CLIENT_CLOSED));
    });
  },
  header(c: Context, name: string) {
    const incoming = (c.env as NodeBindings | undefined)?.incoming;
    if (!incoming) return webRequestIO.header(c, name);
    const v = incoming.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  },
};

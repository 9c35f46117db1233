/**
 * Node-only RequestIO (see edge/lib/request-io.ts for why): reads the body and headers from
 * node:http's IncomingMessage (on @hono/node-server, `c.req.header()` builds an undici Headers
 * object from all raw headers first) and derives the client-gone signal from the ServerResponse
 * closing early, all
 * from the `{ incoming, outgoing }` env that @hono/node-server passes to fetch. Without that env
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
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        incoming.off('data', onData);
        incoming.resume(); // discard the rest; the 413 is sent once the handler throws
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8')));
    incoming.once('error', reject);
  });
}

const signals = new WeakMap<ServerResponse, AbortSignal>();

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
        if (!outgoing.writableFinished) controller.abort(new Error('the client closed the connection'));
      });
      signals.set(outgoing, (signal = controller.signal));
    }
    return signal;
  },
  header(c: Context, name: string) {
    const incoming = (c.env as NodeBindings | undefined)?.incoming;
    if (!incoming) return webRequestIO.header(c, name);
    const v = incoming.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  },
};

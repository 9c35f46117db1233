/**
 * SSE responses, marked as such so that the Node entry (edge/node.ts) can give them
 * `transfer-encoding: chunked` without reading the headers of every other response: on
 * @hono/node-server, reading `res.headers` builds a web Headers object that the adapter then has
 * to convert back, which is measurable per request on the non-streamed hot path. Runtime-free.
 */
const eventStreams = new WeakSet<Response>();

/** A 200 `text/event-stream` response over `body`, marked for isEventStream. */
export function eventStreamResponse(body: ReadableStream<Uint8Array>, headers: Record<string, string>): Response {
  const res = new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', ...headers } });
  eventStreams.add(res);
  return res;
}

export function isEventStream(res: Response): boolean {
  return eventStreams.has(res);
}

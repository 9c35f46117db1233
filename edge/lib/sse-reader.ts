/**
 * Reads a `text/event-stream` body into `{ event, data }` messages (WHATWG SSE parsing rules for
 * the fields we use: `event`, `data`, comments; `id`/`retry` are ignored). Runtime-free.
 */

export interface SseMessage {
  event: string;
  data: string;
}

/** What readSse needs of a body: a web ReadableStream's reader, or a lighter one (edge/node-fetch.ts). */
export interface ByteReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}

export interface ByteSource {
  getReader(): ByteReader;
}

export async function* readSse(body: ByteSource): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || !value) {
        finished = true;
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  } finally {
    // The consumer stopped early (or the read failed): cancel so the connection is released.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  // A message without its closing blank line was cut off: it is dropped, as the SSE spec says.
}

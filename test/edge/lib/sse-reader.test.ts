import { describe, expect, it } from 'vitest';
import { readSse } from '../../../edge/lib/sse-reader.ts';

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({ start(c) { for (const x of chunks) c.enqueue(enc.encode(x)); c.close(); } });
}

describe('readSse', () => {
  it('parses events split at any byte, with CRLF, comments and multi-line data', async () => {
    const text = ': hello\r\ndata: {"token":1}\r\n\r\nevent: done\ndata: a\ndata: b\n\ndata: cut-off';
    for (const size of [1, 3, 7, 1000]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      const got = [];
      for await (const m of readSse(streamOf(chunks))) got.push(m);
      expect(got).toEqual([{ event: 'message', data: '{"token":1}' }, { event: 'done', data: 'a\nb' }]);
    }
  });
});

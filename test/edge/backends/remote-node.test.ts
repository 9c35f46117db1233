/** RemoteNodeBackend's two answer forms: one JSON piece for short non-streamed requests, SSE otherwise. */
import { describe, expect, it } from 'vitest';
import { RemoteNodeBackend, WHOLE_ANSWER_MAX_TOKENS, type FetchLike } from '../../../edge/backends/remote-node.ts';
import type { GenerateRequest } from '../../../edge/backends/backend.ts';

const SECRET = 'x'.repeat(32);
const base: GenerateRequest = { model: 'm', tokens: [1, 2], sampling: { temperature: 0, topP: 1, topK: 0 }, maxTokens: 2 };
const sse = 'data: {"token":5}\n\ndata: {"token":6,"logprob":-0.5}\n\nevent: done\ndata: {"finish_reason":"length","completion_tokens":2}\n\n';
const json = JSON.stringify({ tokens: [{ token: 5 }, { token: 6, logprob: -0.5 }], finish_reason: 'length', completion_tokens: 2 });

function backendAnswering(kind: 'json' | 'sse') {
  const sent: Record<string, unknown>[] = [];
  const fetch: FetchLike = async (_url, init) => {
    sent.push(JSON.parse(String(init!.body)));
    return kind === 'json' ? new Response(json, { headers: { 'content-type': 'application/json' } }) : new Response(sse, { headers: { 'content-type': 'text/event-stream' } });
  };
  return { sent, node: new RemoteNodeBackend({ id: 'node:a', url: 'http://node.test', secret: SECRET, supports: () => true, fetch }) };
}

async function collect(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const t of it) out.push(t);
  return out;
}

describe('RemoteNodeBackend', () => {
  const expected = [{ token: 5 }, { token: 6, logprob: -0.5 }];

  it('asks for one piece (stream: false) when the caller wants the whole answer of a short request', async () => {
    const { sent, node } = backendAnswering('json');
    expect(await collect(node.generate({ ...base, wholeAnswer: true }))).toEqual(expected);
    expect(sent[0].stream).toBe(false);
  });

  it('streams otherwise: streamed requests and long ones', async () => {
    for (const req of [base, { ...base, wholeAnswer: true, maxTokens: WHOLE_ANSWER_MAX_TOKENS + 1 }]) {
      const { sent, node } = backendAnswering('sse');
      expect(await collect(node.generate(req))).toEqual(expected);
      expect(sent[0].stream).toBeUndefined();
    }
  });

  it('reads SSE from a node that ignores stream: false', async () => {
    const { node } = backendAnswering('sse');
    expect(await collect(node.generate({ ...base, wholeAnswer: true }))).toEqual(expected);
  });
});

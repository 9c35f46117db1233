/**
 * The edge's end of the link (edge/link/node-links.ts) against a scripted fake node on 127.0.0.1:
 * tokens, errors with statuses, cancellation and credit reach the node as frames; a node without
 * the upgrade means HTTP; a node that cannot prove the secret, sends frames for streams never opened,
 * ignores the window, sends malformed frames or dies mid-stream fails the streams as NodeErrors the
 * router understands (before or after the first token).
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createNodeLinks, type NodeLinkTransport } from '../../../edge/link/node-links.ts';
import { helloPayload, linkKey, newNonce, nodeProof, verifyAnswer } from '../../../edge/link/auth.ts';
import {
  encodeDone, encodeError, encodeFrame, encodeTextFrame, encodeToken, FrameDecoder, FrameType, readU32, STREAM_WINDOW_TOKENS, type FrameTypeCode,
} from '../../../edge/link/frames.ts';
import { NodeError } from '../../../edge/backends/remote-node.ts';
import type { GeneratedToken } from '../../../edge/backends/backend.ts';
import { TEST_SECRET } from '../helpers/constants.ts';

type Received = { type: FrameTypeCode; stream: number; payload: Buffer };

interface FakeNode {
  url: string;
  received: Received[];
  upgrades: number;
  close(): Promise<void>;
}

/** A node that authenticates like the real one (unless `badProof`) and answers each REQUEST with `onRequest`. */
async function fakeNode(opts: { onRequest?: (socket: Socket, id: number) => void; badProof?: boolean; noUpgrade?: boolean; refuseUpgrade?: string }): Promise<FakeNode> {
  const key = linkKey(TEST_SECRET);
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((_req, res) => {
    res.writeHead(404);
    res.end('no such route');
  });
  const state = { upgrades: 0 };
  if (!opts.noUpgrade) {
    server.on('upgrade', (_req, socket: Socket) => {
      state.upgrades++;
      sockets.add(socket);
      socket.on('error', () => undefined);
      if (opts.refuseUpgrade) return void socket.end(`HTTP/1.1 ${opts.refuseUpgrade}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: abq-link/1\r\n\r\n');
      const nonce = newNonce();
      socket.write(encodeFrame(FrameType.HELLO, 0, helloPayload(nonce)));
      const decoder = new FrameDecoder(1 << 20);
      socket.on('data', (chunk: Buffer) =>
        decoder.push(chunk, (type, stream, p) => {
          const payload = Buffer.from(p);
          received.push({ type, stream, payload });
          if (type === FrameType.AUTH) {
            const v = verifyAnswer(key, nonce, payload);
            if (!v.ok) return socket.destroy();
            socket.write(encodeFrame(FrameType.AUTH_OK, 0, opts.badProof ? Buffer.alloc(32) : nodeProof(key, nonce, v.edgeNonce)));
          } else if (type === FrameType.REQUEST) opts.onRequest?.(socket, stream);
        }),
      );
    });
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    get upgrades() {
      return state.upgrades;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function drain(it: AsyncIterable<GeneratedToken>): Promise<{ tokens: number[]; error?: unknown }> {
  const tokens: number[] = [];
  try {
    for await (const t of it) tokens.push(t.token);
    return { tokens };
  } catch (error) {
    return { tokens, error };
  }
}

const BODY = '{"model":"stories260K","tokens":[1],"max_tokens":4,"temperature":0,"top_p":1,"top_k":0}';

describe('edge node links against a scripted node', () => {
  let links: NodeLinkTransport | undefined;
  let node: FakeNode | undefined;
  const open = async (signal?: AbortSignal) => (await links!.open(node!.url, 'node:f', BODY, signal))!;
  const frames = (type: FrameTypeCode) => node!.received.filter((f) => f.type === type);

  afterEach(async () => {
    links?.close();
    await node?.close();
    links = node = undefined;
  });

  it('streams tokens, carries one connection for many streams, and maps ERROR frames to NodeErrors', async () => {
    node = await fakeNode({
      onRequest: (s, id) => {
        if (id === 2) return void s.write(encodeError(id, { status: 503, message: 'queue full', code: 'queue_full' }));
        if (id === 3) return void s.write(Buffer.concat([encodeToken(id, 7), encodeError(id, { status: 500, message: 'engine fell over', code: 'backend_error' })]));
        s.write(Buffer.concat([encodeToken(id, 5), encodeToken(id, 6, -0.5), encodeDone(id, 'stop', 2)]));
      },
    });
    links = createNodeLinks(TEST_SECRET);
    const tokens: GeneratedToken[] = [];
    for await (const t of await open()) tokens.push(t);
    expect(tokens).toEqual([{ token: 5 }, { token: 6, logprob: -0.5 }]);
    expect(links.isUp(node.url)).toBe(true);
    const busy = await drain(await open());
    expect(busy.error).toBeInstanceOf(NodeError);
    expect(busy.error).toMatchObject({ status: 503, beforeFirstToken: true });
    const mid = await drain(await open());
    expect(mid.tokens).toEqual([7]);
    expect(mid.error).toMatchObject({ beforeFirstToken: false, status: undefined });
    expect(node.upgrades).toBe(1);
    expect(frames(FrameType.AUTH)).toHaveLength(1);
    expect(frames(FrameType.REQUEST).map((f) => f.stream)).toEqual([1, 2, 3]);
  });

  it('sends CANCEL when the reader stops early or the signal fires, and CREDIT as the reader takes tokens', async () => {
    node = await fakeNode({
      onRequest: (s, id) => {
        if (id === 1) s.write(Buffer.concat(Array.from({ length: STREAM_WINDOW_TOKENS }, (_, i) => encodeToken(id, i))));
        if (id === 2) s.write(encodeToken(id, 1));
      },
    });
    links = createNodeLinks(TEST_SECRET);
    const it1 = await open();
    for (let i = 0; i < STREAM_WINDOW_TOKENS / 2; i++) await it1.next();
    await it1.return!();
    const controller = new AbortController();
    const it2 = await open(controller.signal);
    expect((await it2.next()).value).toEqual({ token: 1 });
    const pending = it2.next();
    controller.abort(new Error('client gone'));
    await expect(pending).rejects.toThrow('client gone');
    await expect.poll(() => frames(FrameType.CANCEL).map((f) => f.stream)).toEqual([1, 2]);
    const credit = frames(FrameType.CREDIT);
    expect(credit.map((f) => [f.stream, readU32(f.payload, 'CREDIT')])).toEqual([[1, STREAM_WINDOW_TOKENS / 2]]);
  });

  it('answers undefined (use HTTP) for a node without the upgrade, and does not ask again at once', async () => {
    node = await fakeNode({ noUpgrade: true });
    links = createNodeLinks(TEST_SECRET);
    expect(await links.open(node.url, 'node:f', BODY, undefined)).toBeUndefined();
    expect(await links.open(node.url, 'node:f', BODY, undefined)).toBeUndefined();
    expect(links.isUp(node.url)).toBe(false);
    expect(createNodeLinks(TEST_SECRET).open('https://example.invalid', 'node:t', BODY, undefined)).toBeUndefined();
  });

  it('reads a 503 to the upgrade (a node shutting down) as busy, not as "no link"', async () => {
    node = await fakeNode({ refuseUpgrade: '503 Service Unavailable' });
    links = createNodeLinks(TEST_SECRET);
    await expect(links.open(node.url, 'node:f', BODY, undefined)).rejects.toMatchObject({ name: 'LinkBusy', status: 503 });
    await expect(links.open(node.url, 'node:f', BODY, undefined)).rejects.toMatchObject({ status: 503 });
    expect(node.upgrades).toBe(2);
  });

  it('refuses a node that cannot prove it holds the secret', async () => {
    node = await fakeNode({ badProof: true });
    links = createNodeLinks(TEST_SECRET);
    await expect(links.open(node.url, 'node:f', BODY, undefined)).rejects.toMatchObject({ name: 'LinkAuthError' });
  });

  it('throws for an unreachable node (the router then marks it down)', async () => {
    node = await fakeNode({});
    const url = node.url;
    await node.close();
    node = undefined;
    links = createNodeLinks(TEST_SECRET);
    await expect(links.open(url, 'node:f', BODY, undefined)).rejects.toThrow(/ECONNREFUSED/);
  });

  const hostile: [string, (s: Socket, id: number) => void, { tokens: number[]; before: boolean; message: RegExp }][] = [
    ['a frame for a stream never opened', (s) => s.write(encodeToken(99, 1)), { tokens: [], before: true, message: /stream 99, which the edge never opened/ }],
    ['tokens beyond the window', (s, id) => s.write(Buffer.concat(Array.from({ length: STREAM_WINDOW_TOKENS + 1 }, () => encodeToken(id, 3)))), { tokens: Array(STREAM_WINDOW_TOKENS).fill(3), before: false, message: /granted/ }],
    ['a malformed ERROR payload', (s, id) => s.write(encodeTextFrame(FrameType.ERROR, id, '{oops')), { tokens: [], before: true, message: /ERROR payload is not JSON/ }],
    ['a truncated TOKEN payload', (s, id) => s.write(encodeFrame(FrameType.TOKEN, id, Buffer.alloc(3))), { tokens: [], before: true, message: /TOKEN payload of 3 bytes/ }],
    ['an oversized frame', (s, id) => s.write(encodeTextFrame(FrameType.ERROR, id, 'x'.repeat(70_000))), { tokens: [], before: true, message: /exceeds the limit/ }],
    ['a request frame (edges send those)', (s, id) => s.write(encodeTextFrame(FrameType.REQUEST, id, '{}')), { tokens: [], before: true, message: /unexpected frame type 16/ }],
    ['death mid-stream', (s, id) => s.end(Buffer.concat([encodeToken(id, 8), encodeToken(id, 9)]), () => s.destroy()), { tokens: [8, 9], before: false, message: /link closed/ }],
  ];
  for (const [what, onRequest, want] of hostile) {
    it(`fails the stream and drops the connection on ${what}`, async () => {
      node = await fakeNode({ onRequest });
      links = createNodeLinks(TEST_SECRET);
      const r = await drain(await open());
      expect(r.tokens).toEqual(want.tokens);
      expect(r.error).toBeInstanceOf(NodeError);
      expect(r.error).toMatchObject({ beforeFirstToken: want.before, status: undefined });
      expect((r.error as Error).message).toMatch(want.message);
      expect(links.isUp(node.url)).toBe(false);
    });
  }
});

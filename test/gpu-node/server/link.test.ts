/**
 * The node's link endpoint against a hand-driven client (a broken or hostile edge): it serves only
 * after a valid challenge-response, refuses bad HMACs, expired answers, answers to another nonce
 * and malformed or oversized frames with a CLOSE naming the fault, answers bad requests with ERROR
 * frames like the HTTP path's statuses, ignores late frames for finished streams, refuses frames for
 * streams never opened, honours the per-stream window, and keeps serving (no crash) throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import '../../../shared/auth/node.ts';
import { createNodeApp, type NodeApp } from '../../../gpu-node/server/app.ts';
import { attachNodeLink, type NodeLinkServer } from '../../../gpu-node/server/link/link-server.ts';
import { answerChallenge, linkKey, readHello, verifyNodeProof } from '../../../edge/link/auth.ts';
import { encodeFrame, encodeTextFrame, encodeU32Frame, FrameType, readDone, readError, readToken, STREAM_WINDOW_TOKENS } from '../../../edge/link/frames.ts';
import { scriptedBackend, TEST_SECRET } from '../../edge/helpers/fixtures.ts';
import { signRequestNode } from '../../../edge/node-sign.ts';
import { SIGNATURE_HEADER } from '../../../shared/auth/index.ts';
import { RawLink } from './helpers/raw-link.ts';
import { createNodeLinks } from '../../../edge/link/node-links.ts';

const TOKENS = Array.from({ length: 600 }, (_, i) => 10 + (i % 50));

describe('gpu-node link endpoint (HTTP Upgrade on the node port)', () => {
  let node: NodeApp;
  let server: Server;
  let port: number;
  let linkServer: NodeLinkServer;
  const key = linkKey(TEST_SECRET);
  const body = (extra: object = {}) => JSON.stringify({ model: 'stories260K', tokens: [1, 2], max_tokens: 4, temperature: 0, top_p: 1, top_k: 0, ...extra });

  /** Upgrades and authenticates; `answer` may spoil the AUTH payload. */
  async function authed(answer: (nonce: Buffer) => Buffer = (n) => answerChallenge(key, n).payload): Promise<RawLink> {
    const link = await RawLink.open(port);
    const hello = await link.next(FrameType.HELLO);
    link.send(encodeFrame(FrameType.AUTH, 0, answer(readHello(hello!.payload))));
    return link;
  }

  async function ready(): Promise<RawLink> {
    const link = await RawLink.open(port);
    const nonce = readHello((await link.next(FrameType.HELLO))!.payload);
    const { payload, edgeNonce } = answerChallenge(key, nonce);
    link.send(encodeFrame(FrameType.AUTH, 0, payload));
    const ok = await link.next(FrameType.AUTH_OK);
    expect(verifyNodeProof(key, nonce, edgeNonce, ok!.payload)).toBe(true);
    return link;
  }

  async function stillServesHttp(): Promise<void> {
    const sig = signRequestNode({ secret: TEST_SECRET, method: 'GET', path: '/health' });
    expect((await fetch(`http://127.0.0.1:${port}/health`, { headers: { [SIGNATURE_HEADER]: sig } })).status).toBe(200);
  }

  beforeAll(async () => {
    node = createNodeApp({ backend: scriptedBackend({ id: 'scripted', kind: 'gpu', tokens: TOKENS }), modelIds: ['stories260K'], secret: TEST_SECRET, slots: 64 });
    server = serve({ fetch: node.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
    await new Promise<void>((r) => server.once('listening', () => r()));
    port = (server.address() as AddressInfo).port;
    linkServer = attachNodeLink(server, { secret: TEST_SECRET, backend: node.backend, modelIds: ['stories260K'], metrics: node.metrics });
  });

  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('generates over an authenticated link: tokens then DONE, errors with HTTP statuses, cancel', async () => {
    const link = await ready();
    link.send(encodeTextFrame(FrameType.REQUEST, 1, body()));
    const tokens: number[] = [];
    for (let f = await link.next(); f && f.type === FrameType.TOKEN; f = await link.next()) {
      expect(f.stream).toBe(1);
      tokens.push(readToken(f.payload).token);
      if (tokens.length === 4) expect(readDone((await link.next(FrameType.DONE))!.payload)).toEqual({ finish: 'length', completionTokens: 4 });
      if (tokens.length === 4) break;
    }
    expect(tokens).toEqual(TOKENS.slice(0, 4));
    link.send(encodeTextFrame(FrameType.REQUEST, 2, '{not json'));
    link.send(encodeTextFrame(FrameType.REQUEST, 3, body({ model: 'other' })));
    link.send(encodeTextFrame(FrameType.REQUEST, 4, body({ tokens: [] })));
    const errors = [await link.next(FrameType.ERROR), await link.next(FrameType.ERROR), await link.next(FrameType.ERROR)];
    expect(errors.map((e) => [e!.stream, readError(e!.payload).status, readError(e!.payload).code]).sort()).toEqual([
      [2, 400, 'bad_request'],
      [3, 404, 'model_not_found'],
      [4, 400, 'bad_request'],
    ]);
    // Late frames for a finished stream are ignored; the connection stays up.
    link.send(encodeFrame(FrameType.CANCEL, 1));
    link.send(encodeU32Frame(FrameType.CREDIT, 2, 10));
    link.send(encodeTextFrame(FrameType.REQUEST, 5, body({ max_tokens: 2 })));
    expect(readDone((await link.next(FrameType.DONE))!.payload).completionTokens).toBe(2);
    link.socket.destroy();
  });

  it('sends no more than the window until the edge grants credit, and stops on CANCEL', async () => {
    const link = await ready();
    link.send(encodeTextFrame(FrameType.REQUEST, 1, body({ max_tokens: TOKENS.length })));
    const tokensIn = () => link.frames.filter((f) => f.type === FrameType.TOKEN).length;
    for (let i = 0; i < STREAM_WINDOW_TOKENS; i++) await link.next(FrameType.TOKEN, 1);
    // The node is waiting for credit: a round trip on another stream comes back before any more tokens.
    link.send(encodeTextFrame(FrameType.REQUEST, 2, body({ max_tokens: 1 })));
    expect((await link.next(FrameType.DONE))!.stream).toBe(2);
    expect(link.frames.filter((f) => f.type === FrameType.TOKEN && f.stream === 1).length).toBe(0);
    link.frames.length = 0;
    link.send(encodeU32Frame(FrameType.CREDIT, 1, 10));
    for (let i = 0; i < 10; i++) expect((await link.next(FrameType.TOKEN))!.stream).toBe(1);
    link.send(encodeFrame(FrameType.CANCEL, 1));
    const cancelled = async () => (await node.metrics.requests.get()).values.find((v) => v.labels.outcome === 'cancelled')?.value ?? 0;
    await expect.poll(cancelled).toBeGreaterThan(0);
    await expect.poll(() => node.backend.stats().running).toBe(0);
    expect(tokensIn()).toBe(0);
    link.socket.destroy();
  });

  it('refuses a bad HMAC, an expired answer and an answer to another nonce', async () => {
    const other = linkKey('z'.repeat(40));
    const cases: [string, (n: Buffer) => Buffer][] = [
      ['bad_mac', (n) => answerChallenge(other, n).payload],
      ['expired', (n) => answerChallenge(key, n, Date.now() - 120_000).payload],
      ['future', (n) => answerChallenge(key, n, Date.now() + 120_000).payload],
      ['bad_mac', () => answerChallenge(key, Buffer.alloc(32, 7)).payload],
      ['malformed', (n) => answerChallenge(key, n).payload.subarray(0, 40)],
    ];
    for (const [reason, answer] of cases) {
      const link = await authed(answer);
      expect(await link.closeReason()).toBe(`authentication failed (${reason})`);
      expect(link.frames.some((f) => f.type === FrameType.AUTH_OK)).toBe(false);
    }
    expect(await node.metrics.registry.getSingleMetricAsString('abq_node_auth_failures_total')).toMatch(/reason="link_expired"/);
    await stillServesHttp();
  });

  it('serves nothing before authentication and closes on malformed or oversized frames', async () => {
    const early = await RawLink.open(port);
    await early.next(FrameType.HELLO);
    early.send(encodeTextFrame(FrameType.REQUEST, 1, body()));
    expect(await early.closeReason()).toMatch(/^expected AUTH on stream 0/);
    expect(early.frames.some((f) => f.type === FrameType.TOKEN)).toBe(false);

    const huge = await RawLink.open(port);
    const header = Buffer.alloc(9);
    header.writeUInt32BE(1 << 30, 0);
    header[4] = FrameType.AUTH;
    huge.send(header);
    expect(await huge.closeReason()).toMatch(/exceeds the limit/);

    const cases: [string, (l: RawLink) => void, RegExp][] = [
      ['oversized request', (l) => {
        const h = Buffer.alloc(9);
        h.writeUInt32BE(64 << 20, 0);
        h[4] = FrameType.REQUEST;
        h.writeUInt32BE(1, 5);
        l.send(h);
      }, /exceeds the limit/],
      ['unknown type', (l) => {
        const f = encodeFrame(FrameType.CANCEL, 1);
        f[4] = 200;
        l.send(f);
      }, /unknown frame type 200/],
      ['cancel of a stream never opened', (l) => l.send(encodeFrame(FrameType.CANCEL, 42)), /never opened/],
      ['credit of a stream never opened', (l) => l.send(encodeU32Frame(FrameType.CREDIT, 42, 1)), /never opened/],
      ['reused stream id', (l) => {
        l.send(encodeTextFrame(FrameType.REQUEST, 1, body()));
        l.send(encodeTextFrame(FrameType.REQUEST, 1, body()));
      }, /not above the last one/],
      ['a frame only nodes send', (l) => l.send(encodeU32Frame(FrameType.TOKEN, 1, 5)), /not one the edge sends/],
      ['bad CREDIT size', (l) => l.send(encodeFrame(FrameType.CREDIT, 1, Buffer.alloc(2))), /CREDIT payload/],
      ['short length', (l) => l.send(Buffer.from([0, 0, 0, 2, 16, 0])), /shorter than a frame header/],
    ];
    for (const [, send, why] of cases) {
      const link = await ready();
      send(link);
      expect(await link.closeReason()).toMatch(why);
    }
    // A peer that stops mid-frame and hangs up leaves nothing behind.
    const cut = await ready();
    cut.send(encodeTextFrame(FrameType.REQUEST, 1, body()).subarray(0, 12));
    cut.socket.end();
    await cut.closed;
    await stillServesHttp();
  });

  it('refuses other upgrades with a 400 and still answers HTTP', async () => {
    await expect(RawLink.open(port, 'GET /v1/other HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n')).rejects.toThrow(/400/);
    await expect(RawLink.open(port, 'GET /v1/link HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n')).rejects.toThrow(/400/);
    await stillServesHttp();
  });

  it("carries a stream longer than the window to the edge's reader (credit granted as it reads), beside short ones", async () => {
    const links = createNodeLinks(TEST_SECRET);
    try {
      const url = `http://127.0.0.1:${port}`;
      const long = (await links.open(url, 'node:t', body({ max_tokens: TOKENS.length }), undefined))!;
      const short = (await links.open(url, 'node:t', body({ max_tokens: 3 }), undefined))!;
      const read = async (it: AsyncIterable<{ token: number }>) => {
        const out: number[] = [];
        for await (const t of it) out.push(t.token);
        return out;
      };
      const [a, b] = await Promise.all([read(long), read(short)]);
      expect(a).toEqual(TOKENS);
      expect(b).toEqual(TOKENS.slice(0, 3));
    } finally {
      links.close();
    }
  });

  it('at shutdown lets running generations finish, closes idle links and refuses new ones with 503 (runs last)', async () => {
    const idle = await ready();
    const busy = await ready();
    busy.send(encodeTextFrame(FrameType.REQUEST, 1, body({ max_tokens: 40 })));
    await busy.next(FrameType.TOKEN, 1);
    const closed = linkServer.close(10_000);
    expect(await idle.closeReason()).toBe('the node is shutting down');
    await expect(RawLink.open(port)).rejects.toThrow(/503/);
    expect(readDone((await busy.next(FrameType.DONE, 1))!.payload).completionTokens).toBe(40);
    expect(await busy.closeReason()).toBe('the node is shutting down');
    await closed;
    expect(linkServer.connections).toBe(0);
  });
});

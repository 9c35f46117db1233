/**
 * The link's framing and handshake as pure functions: frames split and joined across chunks,
 * lengths bounded before buffering, payload layouts checked; the challenge-response accepted only
 * with the right secret, this connection's nonce and a fresh time, and the node's proof checked.
 */
import { describe, expect, it } from 'vitest';
import {
  encodeDone, encodeError, encodeFrame, encodeTextFrame, encodeToken, FrameDecoder, FrameError, FrameType, readDone, readError, readToken, readU32,
  type FrameTypeCode,
} from '../../../edge/link/frames.ts';
import { answerChallenge, AUTH_MAX_SKEW_MS, helloPayload, linkKey, newNonce, nodeProof, readHello, verifyAnswer, verifyNodeProof } from '../../../edge/link/auth.ts';
import { TEST_SECRET } from '../helpers/constants.ts';

type Seen = [FrameTypeCode, number, string];

function decodeAll(decoder: FrameDecoder, chunks: Buffer[]): Seen[] {
  const seen: Seen[] = [];
  for (const c of chunks) decoder.push(c, (t, s, p) => seen.push([t, s, p.toString('hex')]));
  return seen;
}

describe('link frames', () => {
  const frames = [encodeToken(3, 318), encodeToken(3, 9, -0.25), encodeDone(3, 'length', 2), encodeTextFrame(FrameType.REQUEST, 7, '{"model":"m"}'), encodeFrame(FrameType.CANCEL, 7)];
  const all = Buffer.concat(frames);

  it('decodes frames whole, several per chunk, and split at every byte', () => {
    const expected = decodeAll(new FrameDecoder(1024), [all]);
    expect(expected.map(([t, s]) => [t, s])).toEqual([[FrameType.TOKEN, 3], [FrameType.TOKEN, 3], [FrameType.DONE, 3], [FrameType.REQUEST, 7], [FrameType.CANCEL, 7]]);
    for (let cut = 1; cut < all.length; cut++) {
      const d = new FrameDecoder(1024);
      expect(decodeAll(d, [all.subarray(0, cut), all.subarray(cut)])).toEqual(expected);
      expect(d.buffered).toBe(0);
    }
    const d = new FrameDecoder(1024);
    expect(decodeAll(d, [...all].map((b) => Buffer.of(b)))).toEqual(expected);
  });

  it('holds a truncated frame back instead of handing it on', () => {
    const d = new FrameDecoder(1024);
    expect(decodeAll(d, [frames[3].subarray(0, frames[3].length - 1)])).toEqual([]);
    expect(d.buffered).toBe(frames[3].length - 1);
  });

  it('refuses an oversized frame from its header alone, before the payload arrives', () => {
    const d = new FrameDecoder(64);
    const header = Buffer.alloc(9);
    header.writeUInt32BE(10_000_000, 0);
    header[4] = FrameType.REQUEST;
    expect(() => decodeAll(d, [header])).toThrow(/exceeds the limit of 64/);
    expect(() => decodeAll(new FrameDecoder(64), [header.subarray(0, 4)])).toThrow(FrameError);
  });

  it('refuses lengths shorter than a header and unknown types', () => {
    const short = Buffer.alloc(8);
    short.writeUInt32BE(3, 0);
    expect(() => decodeAll(new FrameDecoder(64), [short])).toThrow(/shorter than a frame header/);
    const unknown = encodeFrame(FrameType.CANCEL, 1);
    unknown[4] = 99;
    expect(() => decodeAll(new FrameDecoder(64), [unknown])).toThrow(/unknown frame type 99/);
  });

  it('reads token, done, u32 and error payloads and refuses wrong layouts', () => {
    const body = (f: Buffer) => f.subarray(9);
    expect(readToken(body(encodeToken(1, 318)))).toEqual({ token: 318 });
    expect(readToken(body(encodeToken(1, 5, -1.5)))).toEqual({ token: 5, logprob: -1.5 });
    expect(() => readToken(Buffer.alloc(5))).toThrow(FrameError);
    expect(readDone(body(encodeDone(1, 'stop', 12)))).toEqual({ finish: 'stop', completionTokens: 12 });
    expect(() => readDone(Buffer.of(7, 0, 0, 0, 1))).toThrow(FrameError);
    expect(() => readDone(Buffer.alloc(4))).toThrow(FrameError);
    expect(() => readU32(Buffer.alloc(3), 'CREDIT')).toThrow(/CREDIT payload of 3 bytes/);
    expect(readError(body(encodeError(1, { status: 503, message: 'busy', code: 'queue_full' })))).toEqual({ status: 503, message: 'busy', code: 'queue_full' });
    expect(() => readError(Buffer.from('not json'))).toThrow(/not JSON/);
    expect(() => readError(Buffer.from('{"status":"x","message":"m","code":"c"}'))).toThrow(/lacks/);
    expect(() => readError(Buffer.from('null'))).toThrow(/lacks/);
    expect(() => readError(Buffer.alloc(10_000, 0x20))).toThrow(/exceeds/);
  });
});

describe('link handshake', () => {
  const key = linkKey(TEST_SECRET);
  const now = 1_800_000_000_000;

  it('accepts the answer to this connection\'s challenge and proves the node to the edge', () => {
    const nonce = newNonce();
    expect(readHello(helloPayload(nonce))).toEqual(nonce);
    const { payload, edgeNonce } = answerChallenge(key, nonce, now);
    const v = verifyAnswer(key, nonce, payload, now + 1000);
    expect(v).toEqual({ ok: true, edgeNonce });
    expect(verifyNodeProof(key, nonce, edgeNonce, nodeProof(key, nonce, edgeNonce))).toBe(true);
  });

  it('refuses a bad HMAC (another secret), a wrong nonce, expired and future times, and bad sizes', () => {
    const nonce = newNonce();
    const other = linkKey('x'.repeat(40));
    expect(verifyAnswer(key, nonce, answerChallenge(other, nonce, now).payload, now)).toEqual({ ok: false, reason: 'bad_mac' });
    expect(verifyAnswer(key, nonce, answerChallenge(key, newNonce(), now).payload, now)).toEqual({ ok: false, reason: 'bad_mac' });
    expect(verifyAnswer(key, nonce, answerChallenge(key, nonce, now - AUTH_MAX_SKEW_MS - 1).payload, now)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyAnswer(key, nonce, answerChallenge(key, nonce, now + AUTH_MAX_SKEW_MS + 1).payload, now)).toEqual({ ok: false, reason: 'future' });
    const good = answerChallenge(key, nonce, now).payload;
    expect(verifyAnswer(key, nonce, good.subarray(1), now)).toEqual({ ok: false, reason: 'malformed' });
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] ^= 1;
    expect(verifyAnswer(key, nonce, flipped, now)).toEqual({ ok: false, reason: 'bad_mac' });
    const nan = Buffer.from(good);
    nan.writeDoubleBE(NaN, 0);
    expect(verifyAnswer(key, nonce, nan, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a node proof made with another secret or for other nonces, and short secrets', () => {
    const [n, e] = [newNonce(), newNonce()];
    expect(verifyNodeProof(key, n, e, nodeProof(linkKey('y'.repeat(40)), n, e))).toBe(false);
    expect(verifyNodeProof(key, n, e, nodeProof(key, e, n))).toBe(false);
    expect(verifyNodeProof(key, n, e, Buffer.alloc(3))).toBe(false);
    expect(() => readHello(Buffer.alloc(10))).toThrow(/HELLO/);
    expect(() => readHello(Buffer.concat([Buffer.of(9), n]))).toThrow(/version 9/);
    expect(() => linkKey('short')).toThrow(/too short/);
  });
});

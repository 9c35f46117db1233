/**
 * edge/node-sign.ts must produce exactly shared/auth's v1 signatures: the runtime-free verifier
 * accepts them (string and byte bodies, with and without a body), rejects them when anything
 * signed changes, and nonces never repeat.
 */
import { describe, expect, it } from 'vitest';
import { verifyRequest, ReplayCache } from '../../shared/auth/index.ts';
import { signRequestNode } from '../../edge/node-sign.ts';
import { TEST_SECRET } from './helpers/constants.ts';

describe('signRequestNode', () => {
  it('is accepted by shared/auth verifyRequest, and only for what it signed', async () => {
    const body = JSON.stringify({ model: 'stories260K', tokens: [1, 403], max_tokens: 1, stream: false, text: 'héllo' });
    const header = signRequestNode({ secret: TEST_SECRET, method: 'POST', path: '/v1/generate', body });
    expect(await verifyRequest({ secret: TEST_SECRET, header, method: 'POST', path: '/v1/generate', body })).toMatchObject({ ok: true });
    expect(await verifyRequest({ secret: TEST_SECRET, header, method: 'POST', path: '/v1/generate', body: new TextEncoder().encode(body) })).toMatchObject({ ok: true });
    expect(await verifyRequest({ secret: TEST_SECRET, header, method: 'POST', path: '/v1/generate', body: body + ' ' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(await verifyRequest({ secret: TEST_SECRET, header, method: 'POST', path: '/health', body })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(await verifyRequest({ secret: TEST_SECRET + 'x', header, method: 'POST', path: '/v1/generate', body })).toEqual({ ok: false, reason: 'bad-signature' });
    const get = signRequestNode({ secret: TEST_SECRET, method: 'get', path: '/health' });
    expect(await verifyRequest({ secret: TEST_SECRET, header: get, method: 'GET', path: '/health' })).toMatchObject({ ok: true });
    const bytes = new TextEncoder().encode('{"a":1}');
    const h2 = signRequestNode({ secret: TEST_SECRET, method: 'POST', path: '/x', body: bytes });
    expect(await verifyRequest({ secret: TEST_SECRET, header: h2, method: 'POST', path: '/x', body: '{"a":1}' })).toMatchObject({ ok: true });
  });

  it('never repeats a nonce, so a replay cache accepts each signature once', async () => {
    const replayCache = new ReplayCache();
    const nonces = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const header = signRequestNode({ secret: TEST_SECRET, method: 'POST', path: '/v1/generate', body: '{}' });
      nonces.add(/nonce=([^;]+)/.exec(header)![1]);
      expect(await verifyRequest({ secret: TEST_SECRET, header, method: 'POST', path: '/v1/generate', body: '{}', replayCache })).toMatchObject({ ok: true });
      if (i === 0) expect(await verifyRequest({ secret: TEST_SECRET, header, method: 'POST', path: '/v1/generate', body: '{}', replayCache })).toEqual({ ok: false, reason: 'replayed' });
    }
    expect(nonces.size).toBe(200);
  });

  it('signs with whichever secret it is given (the imported key follows a changed secret)', async () => {
    const other = TEST_SECRET.split('').reverse().join('') + 'z';
    for (const secret of [TEST_SECRET, other, TEST_SECRET]) {
      const header = signRequestNode({ secret, method: 'POST', path: '/v1/generate', body: '{}' });
      expect(await verifyRequest({ secret, header, method: 'POST', path: '/v1/generate', body: '{}' })).toMatchObject({ ok: true });
      const wrong = secret === other ? TEST_SECRET : other;
      expect(await verifyRequest({ secret: wrong, header, method: 'POST', path: '/v1/generate', body: '{}' })).toEqual({ ok: false, reason: 'bad-signature' });
    }
  });

  it('refuses a short secret with the fix in the message', () => {
    expect(() => signRequestNode({ secret: 'short', method: 'GET', path: '/health' })).toThrow(/openssl rand -hex 32/);
  });
});

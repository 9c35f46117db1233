import { describe, expect, it } from 'vitest';
import { MAX_SIGNATURE_TTL_MS, ReplayCache, signRequest, verifyRequest } from '../../../shared/auth/index.ts';

const SECRET = 'x'.repeat(40);
const base = { secret: SECRET, method: 'POST', path: '/v1/generate', body: '{"a":1}' };

describe('edge-to-node request signatures', () => {
  it('accepts a fresh signature over the same method, path and body', async () => {
    const header = await signRequest(base);
    expect(header).toMatch(/^v1;exp=\d+;nonce=[\w-]+;sig=[\w-]+$/);
    expect(await verifyRequest({ ...base, header })).toMatchObject({ ok: true });
  });

  it('rejects a changed body, path, method or secret', async () => {
    const header = await signRequest(base);
    expect(await verifyRequest({ ...base, header, body: '{"a":2}' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(await verifyRequest({ ...base, header, path: '/health' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(await verifyRequest({ ...base, header, method: 'GET' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(await verifyRequest({ ...base, header, secret: 'y'.repeat(40) })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('rejects missing, malformed, expired and far-future signatures', async () => {
    expect(await verifyRequest({ ...base, header: undefined })).toEqual({ ok: false, reason: 'missing' });
    expect(await verifyRequest({ ...base, header: 'Bearer abc' })).toEqual({ ok: false, reason: 'malformed' });
    const now = 1_800_000_000_000;
    const old = await signRequest({ ...base, now: now - 60_000, ttlMs: 30_000 });
    expect(await verifyRequest({ ...base, header: old, now })).toEqual({ ok: false, reason: 'expired' });
    const future = await signRequest({ ...base, now, ttlMs: MAX_SIGNATURE_TTL_MS + 60_000 });
    expect(await verifyRequest({ ...base, header: future, now })).toEqual({ ok: false, reason: 'too-far-ahead' });
  });

  it('rejects a replayed signature when a replay cache is used', async () => {
    const header = await signRequest(base);
    const cache = new ReplayCache();
    expect((await verifyRequest({ ...base, header, replayCache: cache })).ok).toBe(true);
    expect(await verifyRequest({ ...base, header, replayCache: cache })).toEqual({ ok: false, reason: 'replayed' });
  });

  it('refuses short secrets with a message that says how to make one', async () => {
    await expect(signRequest({ ...base, secret: 'short' })).rejects.toThrow(/at least 32/);
  });
});

describe('node:crypto and WebCrypto HMAC agree', () => {
  it('a signature made with one verifies with the other', async () => {
    const { registerSyncHmac } = await import('../../../shared/auth/index.ts');
    const { useNodeCrypto } = await import('../../../shared/auth/node.ts');
    try {
      useNodeCrypto();
      const fromNode = await signRequest(base);
      registerSyncHmac(undefined);
      expect(await verifyRequest({ ...base, header: fromNode })).toMatchObject({ ok: true });
      const fromWeb = await signRequest(base);
      useNodeCrypto();
      expect(await verifyRequest({ ...base, header: fromWeb })).toMatchObject({ ok: true });
      expect(await verifyRequest({ ...base, header: fromWeb, body: 'x' })).toEqual({ ok: false, reason: 'bad-signature' });
    } finally {
      registerSyncHmac(undefined);
    }
  });
});

/**
 * HMAC-SHA256 keys from a shared secret, through WebCrypto only, so the same code runs in Node,
 * workerd and browsers. Importing a key costs far more than using it, so keys are cached per secret.
 */

/** Shortest shared secret accepted: 32 bytes gives HMAC-SHA256 its full strength. */
export const MIN_SECRET_LENGTH = 32;
const MAX_CACHED_KEYS = 16;

/**
 * A synchronous HMAC-SHA256 (Node's node:crypto, registered by the Node entry points through
 * shared/auth/node.ts). WebCrypto's HMAC is asynchronous and, on Node, runs each call as a thread-pool
 * job: about 0.1-0.2 ms per signature, most of the edge's per-request budget. Runtimes without a
 * registered implementation (workerd, browsers) use WebCrypto.
 */
export type SyncHmac = (secret: string, data: Uint8Array) => Uint8Array;
let syncHmac: SyncHmac | undefined;

export function registerSyncHmac(impl: SyncHmac | undefined): void {
  syncHmac = impl;
}

/** HMAC-SHA256 of `data` under `secret`. */
export async function hmacSha256(secret: string, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  checkSecret(secret);
  if (syncHmac) return syncHmac(secret, data);
  return new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), data));
}

/** Constant-time comparison of two MACs. */
export function equalMacs(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function checkSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `shared secret too short (${typeof secret === 'string' ? secret.length : typeof secret} characters); ` +
        `use at least ${MIN_SECRET_LENGTH}, e.g. \`openssl rand -hex 32\``,
    );
  }
}

const keyCache = new Map<string, Promise<CryptoKey>>();
const encoder = new TextEncoder();

export function hmacKey(secret: string): Promise<CryptoKey> {
  checkSecret(secret);
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.delete(keyCache.keys().next().value as string);
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keyCache.set(secret, key);
  }
  return key;
}

export function toBase64Url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Returns undefined for anything that is not base64url, so callers treat it as a bad signature. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

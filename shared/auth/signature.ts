/**
 * Signed edge-to-node requests. The edge signs every request to a GPU node (and a node signs its
 * heartbeats to the edge) with HMAC-SHA256 over the method, path, an expiry time, a random nonce
 * and the body. The receiver rejects anything unsigned, expired, too far in the future, replayed
 * or altered.
 *
 * Header format (one header, `x-abq-signature`):
 *
 *     v1;exp=1763800000123;nonce=9f2c4e...;sig=<base64url HMAC>
 *
 * Signed bytes: `v1\n<METHOD>\n<path?query>\n<exp>\n<nonce>\n` followed by the raw body bytes.
 */
import { hmacSha256, equalMacs, toBase64Url, fromBase64Url } from './hmac-key.ts';

export const SIGNATURE_HEADER = 'x-abq-signature';
export const SIGNATURE_VERSION = 'v1';
/** How long a signature stays valid: long enough for clock skew, short enough to limit replay. */
export const DEFAULT_SIGNATURE_TTL_MS = 30_000;
/** Receivers refuse expiries further ahead than this (a signature minted far in the future). */
export const MAX_SIGNATURE_TTL_MS = 5 * 60_000;
const NONCE_PREFIX_BYTES = 9;

/**
 * Nonces only need to be unique (the MAC protects integrity), so each process draws a random prefix
 * once and appends a counter: this saves a getrandom system call per request, which is not cheap
 * in sandboxed runtimes.
 */
let noncePrefix: string | undefined;
let nonceCounter = 0;
function nextNonce(): string {
  noncePrefix ??= toBase64Url(crypto.getRandomValues(new Uint8Array(NONCE_PREFIX_BYTES)));
  return `${noncePrefix}${(nonceCounter++).toString(36)}`;
}

const encoder = new TextEncoder();

export interface SignInput {
  secret: string;
  method: string;
  /** Path plus query string, e.g. `/v1/generate`. */
  path: string;
  body?: Uint8Array | string;
  /** Current time in ms (injectable for tests). */
  now?: number;
  ttlMs?: number;
}

function signedBytes(method: string, path: string, exp: number, nonce: string, body: Uint8Array | string | undefined): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`${SIGNATURE_VERSION}\n${method.toUpperCase()}\n${path}\n${exp}\n${nonce}\n`);
  const bodyBytes = body === undefined ? new Uint8Array(0) : typeof body === 'string' ? encoder.encode(body) : body;
  const out = new Uint8Array(head.length + bodyBytes.length);
  out.set(head, 0);
  out.set(bodyBytes, head.length);
  return out;
}

/** Returns the value for the `x-abq-signature` header. */
export async function signRequest(input: SignInput): Promise<string> {
  const exp = Math.floor((input.now ?? Date.now()) + (input.ttlMs ?? DEFAULT_SIGNATURE_TTL_MS));
  const nonce = nextNonce();
  const mac = await hmacSha256(input.secret, signedBytes(input.method, input.path, exp, nonce, input.body));
  return `${SIGNATURE_VERSION};exp=${exp};nonce=${nonce};sig=${toBase64Url(mac)}`;
}

export type VerifyFailure = 'missing' | 'malformed' | 'expired' | 'too-far-ahead' | 'bad-signature' | 'replayed';
export type VerifyResult = { ok: true; nonce: string; exp: number } | { ok: false; reason: VerifyFailure };

export interface VerifyInput {
  secret: string;
  header: string | null | undefined;
  method: string;
  path: string;
  body?: Uint8Array | string;
  now?: number;
  /** Remembers nonces until they expire, so a captured request cannot be sent twice. */
  replayCache?: ReplayCache;
}

const HEADER_PATTERN = /^v1;exp=(\d{1,16});nonce=([A-Za-z0-9_-]{8,64});sig=([A-Za-z0-9_-]{20,100})$/;

/** Checks a signature header. Failures are values (the reason), never exceptions. */
export async function verifyRequest(input: VerifyInput): Promise<VerifyResult> {
  if (!input.header) return { ok: false, reason: 'missing' };
  const m = HEADER_PATTERN.exec(input.header.trim());
  if (!m) return { ok: false, reason: 'malformed' };
  const exp = Number(m[1]);
  const nonce = m[2];
  const sig = fromBase64Url(m[3]);
  if (!sig) return { ok: false, reason: 'malformed' };
  const now = input.now ?? Date.now();
  if (exp < now) return { ok: false, reason: 'expired' };
  if (exp > now + MAX_SIGNATURE_TTL_MS) return { ok: false, reason: 'too-far-ahead' };
  const expected = await hmacSha256(input.secret, signedBytes(input.method, input.path, exp, nonce, input.body));
  if (!equalMacs(expected, sig)) return { ok: false, reason: 'bad-signature' };
  if (input.replayCache && !input.replayCache.remember(nonce, exp, now)) return { ok: false, reason: 'replayed' };
  return { ok: true, nonce, exp };
}

/**
 * Nonces seen and not yet expired. Bounded: when full, the oldest entries go first, which is safe
 * because entries older than MAX_SIGNATURE_TTL_MS are expired anyway and the cap is large.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly maxEntries = 100_000) {}

  /** Returns false when the nonce was already used. */
  remember(nonce: string, exp: number, now: number): boolean {
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.maxEntries) this.prune(now);
    if (this.seen.size >= this.maxEntries) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(nonce, exp);
    return true;
  }

  private prune(now: number): void {
    for (const [nonce, exp] of this.seen) if (exp < now) this.seen.delete(nonce);
  }
}

/**
 * Node-only: the link's handshake, authenticated once per connection instead of once per request.
 *
 *   node -> edge  HELLO    version, nonce N (32 random bytes, fresh per connection)
 *   edge -> node  AUTH     time T, edge nonce E, HMAC(secret, "abq-link/1 edge\n" | N | E | T)
 *   node -> edge  AUTH_OK  HMAC(secret, "abq-link/1 node\n" | E | N)
 *
 * The node accepts AUTH only if its MAC is over this connection's N (an AUTH recorded on another
 * connection is useless) and T is within AUTH_MAX_SKEW_MS of its clock (a stale answer expires).
 * AUTH_OK proves to the edge that the node holds the secret too. The two MACs have different
 * labels, so neither can stand in for the other.
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { MIN_SECRET_LENGTH } from '../../shared/auth/index.ts';

export const LINK_PROTOCOL = 'abq-link/1';
export const LINK_PATH = '/v1/link';
export const LINK_VERSION = 1;
export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
export const HELLO_BYTES = 1 + NONCE_BYTES;
export const AUTH_BYTES = 8 + NONCE_BYTES + MAC_BYTES;
/** How far the edge's clock (the AUTH time) may be from the node's, either way. */
export const AUTH_MAX_SKEW_MS = 30_000;

const EDGE_LABEL = Buffer.from(`${LINK_PROTOCOL} edge\n`);
const NODE_LABEL = Buffer.from(`${LINK_PROTOCOL} node\n`);

export function linkKey(secret: string): KeyObject {
  if (secret.length < MIN_SECRET_LENGTH) throw new Error(`shared secret too short (${secret.length} characters); use at least ${MIN_SECRET_LENGTH}`);
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

function timeBytes(t: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(t, 0);
  return b;
}

function edgeMac(key: KeyObject, nodeNonce: Buffer, edgeNonce: Buffer, time: Buffer): Buffer {
  return createHmac('sha256', key).update(EDGE_LABEL).update(nodeNonce).update(edgeNonce).update(time).digest();
}

function nodeMac(key: KeyObject, nodeNonce: Buffer, edgeNonce: Buffer): Buffer {
  return createHmac('sha256', key).update(NODE_LABEL).update(edgeNonce).update(nodeNonce).digest();
}

export function helloPayload(nodeNonce: Buffer): Buffer {
  return Buffer.concat([Buffer.of(LINK_VERSION), nodeNonce]);
}

/** The node's challenge from a HELLO payload; throws on another version or a wrong size. */
export function readHello(p: Buffer): Buffer {
  if (p.length !== HELLO_BYTES) throw new Error(`HELLO of ${p.length} bytes (expected ${HELLO_BYTES})`);
  if (p[0] !== LINK_VERSION) throw new Error(`the node speaks link version ${p[0]}, this edge ${LINK_VERSION}`);
  return Buffer.from(p.subarray(1));
}

/** The edge's answer to a challenge: the AUTH payload, and its nonce (to check AUTH_OK against). */
export function answerChallenge(key: KeyObject, nodeNonce: Buffer, now = Date.now()): { payload: Buffer; edgeNonce: Buffer } {
  const edgeNonce = newNonce();
  const time = timeBytes(now);
  return { payload: Buffer.concat([time, edgeNonce, edgeMac(key, nodeNonce, edgeNonce, time)]), edgeNonce };
}

export type AuthVerdict = { ok: true; edgeNonce: Buffer } | { ok: false; reason: 'malformed' | 'expired' | 'future' | 'bad_mac' };

/** Checks an AUTH payload against this connection's nonce and the node's clock. */
export function verifyAnswer(key: KeyObject, nodeNonce: Buffer, p: Buffer, now = Date.now()): AuthVerdict {
  if (p.length !== AUTH_BYTES) return { ok: false, reason: 'malformed' };
  const time = p.subarray(0, 8);
  const t = time.readDoubleBE(0);
  if (!Number.isFinite(t)) return { ok: false, reason: 'malformed' };
  if (t < now - AUTH_MAX_SKEW_MS) return { ok: false, reason: 'expired' };
  if (t > now + AUTH_MAX_SKEW_MS) return { ok: false, reason: 'future' };
  const edgeNonce = p.subarray(8, 8 + NONCE_BYTES);
  const mac = p.subarray(8 + NONCE_BYTES);
  if (!timingSafeEqual(mac, edgeMac(key, nodeNonce, edgeNonce, time))) return { ok: false, reason: 'bad_mac' };
  return { ok: true, edgeNonce: Buffer.from(edgeNonce) };
}

export function nodeProof(key: KeyObject, nodeNonce: Buffer, edgeNonce: Buffer): Buffer {
  return nodeMac(key, nodeNonce, edgeNonce);
}

/** The edge's check of AUTH_OK: true when the node holds the same secret. */
export function verifyNodeProof(key: KeyObject, nodeNonce: Buffer, edgeNonce: Buffer, p: Buffer): boolean {
  return p.length === MAC_BYTES && timingSafeEqual(p, nodeMac(key, nodeNonce, edgeNonce));
}

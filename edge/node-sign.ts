/**
 * Node-only: the shared/auth v1 request signature (docs/EDGE.md, "Security"), computed
 * synchronously and natively with node:crypto for the edge's per-request path. Same header, same
 * signed bytes (`v1\n<METHOD>\n<path>\n<exp>\n<nonce>\n<body>`), checked against shared/auth's
 * verifyRequest in test/edge/node-sign.test.ts. What it saves over the runtime-free signRequest:
 * copying the head and body into one Uint8Array, base64url in JS (btoa and three regex passes),
 * and an await per request. The secret is imported once as a KeyObject: createHmac with the string
 * converts it to a key on every call (measured 31 -> 24 us per signature, one every millisecond).
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { DEFAULT_SIGNATURE_TTL_MS, MIN_SECRET_LENGTH, SIGNATURE_VERSION, type SignInput } from '../shared/auth/index.ts';

/** Nonces need only be unique: a random prefix per process (9 bytes, as shared/auth) and a counter. */
const NONCE_PREFIX = randomBytes(9).toString('base64url');
let nonceCounter = 0;
/** The last secret's key: an edge signs with one secret. */
let cachedKey: { secret: string; key: KeyObject } | undefined;

function keyFor(secret: string): KeyObject {
  if (cachedKey?.secret !== secret) cachedKey = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
  return cachedKey.key;
}

export function signRequestNode(input: SignInput): string {
  if (input.secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`shared secret too short (${input.secret.length} characters); use at least ${MIN_SECRET_LENGTH}, e.g. \`openssl rand -hex 32\``);
  }
  const exp = Math.floor((input.now ?? Date.now()) + (input.ttlMs ?? DEFAULT_SIGNATURE_TTL_MS));
  const nonce = `${NONCE_PREFIX}${(nonceCounter++).toString(36)}`;
  const mac = createHmac('sha256', keyFor(input.secret)).update(`${SIGNATURE_VERSION}\n${input.method.toUpperCase()}\n${input.path}\n${exp}\n${nonce}\n`);
  if (input.body !== undefined) mac.update(input.body);
  return `${SIGNATURE_VERSION};exp=${exp};nonce=${nonce};sig=${mac.digest('base64url')}`;
}

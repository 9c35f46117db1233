/**
 * @module
 * Shared signing code for edge-to-node requests and node heartbeats (runtime-free, WebCrypto only).
 */
export * from './signature.ts';
export { hmacKey, hmacSha256, registerSyncHmac, MIN_SECRET_LENGTH } from './hmac-key.ts';

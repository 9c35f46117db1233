/**
 * sha256 of tensor bytes, for `abq.checksums`. Uses Web Crypto (crypto.subtle), which Node 20,
 * browsers and workerd all provide globally, so this file stays runtime-free; writers in Node hash
 * incrementally with node:crypto instead (SafetensorsStreamWriter's sha256 option).
 */
import { AbqFormatError } from './errors.ts';

/** Lowercase hex sha256 of the bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Throws CHECKSUM_MISMATCH naming the tensor when its bytes do not hash to `expected`. */
export async function verifyTensorChecksum(name: string, bytes: Uint8Array, expected: string): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected) {
    throw new AbqFormatError('CHECKSUM_MISMATCH', `sha256 is ${actual}, abq.checksums says ${expected}: the file is corrupt or was edited; download or re-pack it`, name);
  }
}

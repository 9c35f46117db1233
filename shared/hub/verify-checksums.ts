/**
 * Checks a downloaded file against what the Hub and the packed format say it must be (Node only):
 * - the whole file: sha256 = the LFS oid for LFS files, git blob id (sha1 of "blob <size>\0" + bytes) for
 *   regular files, both as listed by the Hub's tree endpoint;
 * - each tensor of a packed .safetensors file: sha256 of its bytes = the "abq.checksums" metadata entry
 *   (JSON {tensor name: sha256 hex}, written by shared/format), which also catches a file that was
 *   corrupted before it was uploaded.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { META_CHECKSUMS } from '../format/metadata.ts';
import { openSafetensorsFile } from '../format/safetensors-file.ts';
import { HubError } from './errors.ts';

export const TENSOR_CHECKSUMS_KEY = META_CHECKSUMS;

export interface ExpectedDigest {
  algorithm: 'sha256' | 'git-sha1';
  hex: string;
}

export async function hashFile(file: string, algorithm: ExpectedDigest['algorithm']): Promise<string> {
  const hash = createHash(algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (algorithm === 'git-sha1') hash.update(`blob ${(await stat(file)).size}\0`);
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** Throws checksum-mismatch naming the file and both digests. */
export async function verifyFileDigest(file: string, expected: ExpectedDigest, label: string): Promise<void> {
  const actual = await hashFile(file, expected.algorithm);
  if (actual !== expected.hex.toLowerCase()) {
    throw new HubError('checksum-mismatch',
      `${label} failed its checksum (expected ${expected.algorithm} ${expected.hex}, got ${actual}): the download was corrupted, or the server sent another file. ` +
      `The bad copy was deleted; rerun to download it again.`);
  }
}

/**
 * Verifies every tensor listed in the file's "abq.checksums" metadata; returns how many were checked
 * (0 for files without that metadata, such as unpacked source checkpoints).
 */
export async function verifyTensorChecksums(file: string, label: string, fix = 'Ask the publisher to push it again.'): Promise<number> {
  const st = await openSafetensorsFile(file);
  try {
    const raw = st.metadata[TENSOR_CHECKSUMS_KEY];
    if (raw === undefined) return 0;
    let expected: Record<string, string>;
    try {
      expected = JSON.parse(raw) as Record<string, string>;
    } catch {
      throw new HubError('checksum-mismatch', `${label}: its "${TENSOR_CHECKSUMS_KEY}" metadata is not JSON, so the tensors cannot be verified; the file is damaged`);
    }
    for (const [name, hex] of Object.entries(expected)) {
      if (!st.has(name)) {
        throw new HubError('checksum-mismatch', `${label}: "${TENSOR_CHECKSUMS_KEY}" lists tensor ${name}, which the file does not contain; the file is damaged`);
      }
      const actual = createHash('sha256').update(await st.readBytes(name)).digest('hex');
      if (actual !== hex.toLowerCase()) {
        throw new HubError('checksum-mismatch',
          `${label}: tensor ${name} failed its checksum (expected sha256 ${hex}, got ${actual}): the file was damaged after it was packed. ${fix}`);
      }
    }
    return Object.keys(expected).length;
  } finally {
    await st.close();
  }
}

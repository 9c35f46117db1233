/**
 * Downloads every file of one commit into its staging folder, verifies it, and publishes the snapshot
 * with one rename (Node only; the caller holds the cache lock). Per file: resumable download into
 * parts/<path>.part, digest check against the Hub's listing, rename into files/<path>. Then every
 * packed .safetensors is checked tensor by tensor (abq.checksums). A file that fails a check is deleted,
 * so the next run fetches it again; files already verified by an earlier run are kept.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { fileDownloadInfo, type ListFileEntry } from '@huggingface/hub';
import type { HubCache } from './cache.ts';
import { downloadFileResumable } from './download-file-resumable.ts';
import { HubError } from './errors.ts';
import { verifyFileDigest, verifyTensorChecksums } from './verify-checksums.ts';
import { withRetries, type RetryOptions } from './with-retries.ts';

export interface SnapshotJob {
  cache: HubCache;
  repo: string;
  commit: string;
  entries: ListFileEntry[];
  hub: { hubUrl: string; accessToken?: string; fetch?: typeof fetch };
  classify: (err: unknown) => unknown;
  retry: RetryOptions;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
  onFile?: (path: string, size: number, resumedFrom: number) => void;
}

/** Repo paths come from the server: refuse any that would land outside the cache folder. */
function checkRelativePath(p: string): string {
  if (!p || p.startsWith('/') || p.includes('\\') || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new HubError('invalid-input', `the Hub listed a file with an unsafe path '${p}'; refusing to write it`);
  }
  return p;
}

async function deleteIfFails(file: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
}

export async function downloadSnapshot(job: SnapshotJob): Promise<string> {
  const { cache, repo, commit, entries, hub } = job;
  const staging = cache.partialDir(repo, commit);
  const filesDir = path.join(staging, 'files');
  const short = `${repo}@${commit.slice(0, 12)}`;
  await mkdir(filesDir, { recursive: true });
  await checkFreeSpace(staging, entries, filesDir, repo);
  for (const entry of entries) {
    const rel = checkRelativePath(entry.path);
    const final = path.join(filesDir, rel);
    if (existsSync(final) && (await stat(final)).size === entry.size) continue; // verified by an earlier run
    const partFile = path.join(staging, 'parts', rel + '.part');
    await withRetries(async () => {
      const info = await fileDownloadInfo({ repo, ...hub, path: entry.path, revision: commit });
      if (!info) throw new HubError('entry-not-found', `${short} lists ${entry.path} but the Hub cannot serve it; rerun later`);
      // If-Range only where the ETag and the bytes come from one origin (see downloadFileResumable).
      const sameOrigin = new URL(info.url).origin === new URL(hub.hubUrl).origin;
      const resumedFrom = await downloadFileResumable({
        url: info.url, size: entry.size, etag: sameOrigin ? info.etag : undefined, partFile, accessToken: hub.accessToken, fetch: hub.fetch, signal: job.signal, onBytes: job.onBytes,
      });
      job.onFile?.(entry.path, entry.size, resumedFrom);
    }, job.classify, job.retry);
    const digest = entry.lfs ? { algorithm: 'sha256' as const, hex: entry.lfs.oid } : { algorithm: 'git-sha1' as const, hex: entry.oid ?? '' };
    await deleteIfFails(partFile, () => verifyFileDigest(partFile, digest, `${entry.path} of ${short}`));
    await mkdir(path.dirname(final), { recursive: true });
    await rename(partFile, final);
  }
  for (const entry of entries.filter((e) => e.path.endsWith('.safetensors'))) {
    const file = path.join(filesDir, entry.path);
    await deleteIfFails(file, () => verifyTensorChecksums(file, `${entry.path} of ${short}`));
  }
  const dir = await cache.publish(repo, commit, filesDir);
  await rm(staging, { recursive: true, force: true });
  return dir;
}

/** Fails early, before writing anything big, when the disk cannot hold what is left to download. */
async function checkFreeSpace(staging: string, entries: ListFileEntry[], filesDir: string, repo: string): Promise<void> {
  let needed = 0;
  for (const e of entries) {
    if (!existsSync(path.join(filesDir, e.path))) needed += e.size;
  }
  const fs = await statfs(staging);
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    throw new HubError('disk-full',
      `pulling ${repo} needs ${needed} more bytes but the disk holding ${staging} has ${free} free: free some space, or set ABQ_CACHE_DIR (or --cache-dir) to a larger disk`);
  }
}

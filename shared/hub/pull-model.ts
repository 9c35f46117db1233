/**
 * `abq-pack pull`: downloads a model repo at one revision into the local cache (cache.ts), resumably,
 * verifying every file (Hub digests) and every packed tensor ("abq.checksums"), and returns the folder.
 * A snapshot appears only complete and verified; a failure leaves at most the .partial staging folder,
 * which the next pull resumes. Network failures and 5xx are retried with backoff; 401/404 are not.
 *
 * @example
 * const { dir, commit } = await pullModel({ repo: 'alice/stories260K-w4a8', revision: 'main' });
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { fileDownloadInfo, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub';
import { COMMIT_SHA, defaultCacheDir, HubCache } from './cache.ts';
import { downloadFileResumable } from './download-file-resumable.ts';
import { HubError } from './errors.ts';
import { resolveHubConfig, type HubConfigInput } from './hub-config.ts';
import { toHubError, type HubErrorContext } from './to-hub-error.ts';
import { verifyFileDigest, verifyTensorChecksums } from './verify-checksums.ts';
import { withRetries, type RetryOptions } from './with-retries.ts';

export type PullProgress =
  | { kind: 'resolved'; commit: string; files: number; totalBytes: number }
  | { kind: 'file'; path: string; size: number; resumedFrom: number }
  | { kind: 'bytes'; bytes: number }
  | { kind: 'retry'; message: string; attempt: number; delayMs: number };

export interface PullModelOptions extends HubConfigInput, Omit<RetryOptions, 'onRetry'> {
  /** user/repo */
  repo: string;
  /** Branch, tag or commit id; default "main". */
  revision?: string;
  /** Cache root; default ABQ_CACHE_DIR or ~/.cache/abq/hub. */
  cacheDir?: string;
  fetch?: typeof fetch;
  onProgress?: (event: PullProgress) => void;
}

export interface PullResult {
  /** The snapshot folder: pass it wherever a model directory goes. */
  dir: string;
  repo: string;
  revision: string;
  commit: string;
  /** True when nothing had to be downloaded. */
  fromCache: boolean;
  /** True when the Hub could not be reached and a previously pulled snapshot of the revision was used. */
  offline: boolean;
  files: { path: string; size: number }[];
}

/** Repo paths come from the server: refuse any that would land outside the cache folder. */
function checkRelativePath(p: string): string {
  if (!p || p.startsWith('/') || p.includes('\\') || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new HubError('invalid-input', `the Hub listed a file with an unsafe path '${p}'; refusing to write it`);
  }
  return p;
}

export async function pullModel(options: PullModelOptions): Promise<PullResult> {
  const { hubUrl, accessToken } = resolveHubConfig(options);
  const cache = new HubCache(options.cacheDir ?? defaultCacheDir(options.env));
  const repo = options.repo;
  const revision = options.revision ?? 'main';
  const ctx: HubErrorContext = { action: 'pull', repo, revision, hubUrl, token: accessToken, cacheDir: cache.root };
  const classify = (err: unknown) => toHubError(err, ctx);
  const retry: RetryOptions = {
    retries: options.retries,
    baseDelayMs: options.baseDelayMs,
    signal: options.signal,
    onRetry: (err, attempt, delayMs) => options.onProgress?.({ kind: 'retry', message: err.message, attempt, delayMs }),
  };
  const hub = { repo, hubUrl, accessToken, fetch: options.fetch };
  const done = (commit: string, fromCache: boolean, offline: boolean, files: PullResult['files']): PullResult =>
    ({ dir: cache.snapshotDir(repo, commit), repo, revision, commit, fromCache, offline, files });

  if (COMMIT_SHA.test(revision) && cache.hasSnapshot(repo, revision)) return done(revision, true, false, []);

  let commit: string;
  try {
    const info = await withRetries(() => modelInfo({ ...hub, name: repo, revision, additionalFields: ['sha'] }), classify, retry);
    if (!info.sha || !COMMIT_SHA.test(info.sha)) throw new HubError('request-rejected', `${hubUrl} did not return a commit id for ${repo}@${revision}`);
    commit = info.sha;
  } catch (err) {
    // Offline, but this revision was pulled before: use that snapshot rather than fail.
    const cached = err instanceof HubError && err.retryable ? await cache.readRef(repo, revision) : undefined;
    if (cached && cache.hasSnapshot(repo, cached)) return done(cached, true, true, []);
    throw err;
  }
  if (cache.hasSnapshot(repo, commit)) {
    await cache.writeRef(repo, revision, commit);
    return done(commit, true, false, []);
  }

  const entries = await withRetries(async () => {
    const out: ListFileEntry[] = [];
    for await (const e of listFiles({ ...hub, revision: commit, recursive: true })) if (e.type === 'file') out.push(e);
    return out;
  }, classify, retry);
  const totalBytes = entries.reduce((n, e) => n + e.size, 0);
  options.onProgress?.({ kind: 'resolved', commit, files: entries.length, totalBytes });

  const staging = cache.partialDir(repo, commit);
  const filesDir = path.join(staging, 'files');
  try {
    await mkdir(filesDir, { recursive: true });
    await checkFreeSpace(staging, entries, filesDir, repo);
    for (const entry of entries) {
      const rel = checkRelativePath(entry.path);
      const final = path.join(filesDir, rel);
      if (existsSync(final) && (await stat(final)).size === entry.size) continue; // verified by an earlier run
      const partFile = path.join(staging, 'parts', rel + '.part');
      await withRetries(async () => {
        const info = await fileDownloadInfo({ ...hub, path: entry.path, revision: commit });
        if (!info) throw new HubError('entry-not-found', `${repo}@${commit} lists ${entry.path} but the Hub cannot serve it; rerun later`);
        const resumedFrom = await downloadFileResumable({
          url: info.url, size: entry.size, etag: info.etag, partFile, accessToken, fetch: options.fetch, signal: options.signal,
          onBytes: (bytes) => options.onProgress?.({ kind: 'bytes', bytes }),
        });
        options.onProgress?.({ kind: 'file', path: entry.path, size: entry.size, resumedFrom });
      }, classify, retry);
      const label = `${entry.path} of ${repo}@${commit.slice(0, 12)}`;
      try {
        await verifyFileDigest(partFile, entry.lfs ? { algorithm: 'sha256', hex: entry.lfs.oid } : { algorithm: 'git-sha1', hex: entry.oid ?? '' }, label);
      } catch (err) {
        await rm(partFile, { force: true });
        throw err;
      }
      await mkdir(path.dirname(final), { recursive: true });
      await rename(partFile, final);
    }
    for (const entry of entries.filter((e) => e.path.endsWith('.safetensors'))) {
      const file = path.join(filesDir, entry.path);
      try {
        await verifyTensorChecksums(file, `${entry.path} of ${repo}@${commit.slice(0, 12)}`);
      } catch (err) {
        await rm(file, { force: true });
        throw err;
      }
    }
    await publish(cache, repo, commit, filesDir);
    await rm(staging, { recursive: true, force: true });
    await cache.writeRef(repo, revision, commit);
  } catch (err) {
    throw classify(err);
  }
  return done(commit, false, false, entries.map((e) => ({ path: e.path, size: e.size })));
}

async function publish(cache: HubCache, repo: string, commit: string, filesDir: string): Promise<void> {
  try {
    await cache.publish(repo, commit, filesDir);
  } catch (err) {
    // Another pull of the same commit finished first: its snapshot is as good as ours.
    const code = (err as { code?: string }).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && cache.hasSnapshot(repo, commit)) return;
    throw err;
  }
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

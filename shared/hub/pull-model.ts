/**
 * `abq-pack pull`: downloads a model repo at one revision into the local cache (cache.ts), resumably,
 * verifying every file (Hub digests) and every packed tensor ("abq.checksums"), and returns the folder.
 * A snapshot appears only complete and verified; a failure leaves at most the .partial staging folder,
 * which the next pull resumes. Network failures and 5xx are retried with backoff; 401/404 are not.
 *
 * @example
 * const { dir, commit } = await pullModel({ repo: 'alice/stories260K-w4a8', revision: 'main' });
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub';
import { COMMIT_SHA, defaultCacheDir, HubCache } from './cache.ts';
import { withCacheLock } from './cache-lock.ts';
import { downloadSnapshot } from './download-snapshot.ts';
import { HubError } from './errors.ts';
import { resolveHubConfig, type HubConfigInput } from './hub-config.ts';
import { parseRepoSpec } from './parse-model-ref.ts';
import { toHubError, type HubErrorContext } from './to-hub-error.ts';
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

export async function pullModel(options: PullModelOptions): Promise<PullResult> {
  const { hubUrl, accessToken } = resolveHubConfig(options);
  const cache = new HubCache(options.cacheDir ?? defaultCacheDir(options.env));
  const repo = parseRepoSpec(options.repo).repo; // validated: it becomes a path in the cache
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
  if ((options.env ?? process.env).HF_HUB_OFFLINE === '1') {
    // Air-gapped hosts: never touch the network, serve what an earlier pull left.
    const cached = await cache.readRef(repo, revision);
    if (cached && cache.hasSnapshot(repo, cached)) return done(cached, true, true, []);
    throw new HubError('network', `HF_HUB_OFFLINE=1 and ${repo}@${revision} is not in the cache at ${cache.root}: pull it on a connected machine (or unset HF_HUB_OFFLINE)`);
  }

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

  const lockFile = path.join(cache.repoDir(repo), '.partial', `${commit}.lock`);
  try {
    await mkdir(path.dirname(lockFile), { recursive: true });
    const dir = await withCacheLock(lockFile, () => cache.hasSnapshot(repo, commit), () => downloadSnapshot({
      cache, repo, commit, entries, hub, classify, retry, signal: options.signal,
      onBytes: (bytes) => options.onProgress?.({ kind: 'bytes', bytes }),
      onFile: (p, size, resumedFrom) => options.onProgress?.({ kind: 'file', path: p, size, resumedFrom }),
    }), options.signal);
    await cache.writeRef(repo, revision, commit);
    // undefined: another process on this cache downloaded the same commit while we waited for its lock.
    return done(commit, dir === undefined, false, entries.map((e) => ({ path: e.path, size: e.size })));
  } catch (err) {
    throw classify(err);
  }
}

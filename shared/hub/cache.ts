/**
 * Layout of the local model cache (Node only):
 *
 *   <root>/<user>/<repo>/<commit-sha>/...      a complete, verified snapshot (appears by one rename)
 *   <root>/<user>/<repo>/refs/<revision>        the commit a branch or tag pointed to when last pulled
 *   <root>/<user>/<repo>/.partial/<commit-sha>/ a download in progress: <path>.part files grow through
 *                                               Range requests, and move to files/<path> once verified
 *
 * A snapshot folder exists only when every file in it was downloaded and checked, so readers never see
 * half a model; an interrupted pull leaves only .partial, which the next pull resumes.
 * <root> is ABQ_CACHE_DIR, else $XDG_CACHE_HOME/abq/hub, else ~/.cache/abq/hub.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

export const COMMIT_SHA = /^[0-9a-f]{40}$/;

export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.ABQ_CACHE_DIR) return env.ABQ_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'abq', 'hub');
}

export class HubCache {
  constructor(readonly root: string) {}

  repoDir(repo: string): string {
    const [user, name] = repo.split('/');
    return path.join(this.root, user, name);
  }

  snapshotDir(repo: string, commit: string): string {
    return path.join(this.repoDir(repo), commit);
  }

  hasSnapshot(repo: string, commit: string): boolean {
    return COMMIT_SHA.test(commit) && existsSync(this.snapshotDir(repo, commit));
  }

  /** Staging folder of a pull in progress: `<dir>/files/` holds verified files, `<dir>/*.part` partial ones. */
  partialDir(repo: string, commit: string): string {
    return path.join(this.repoDir(repo), '.partial', commit);
  }

  private refFile(repo: string, revision: string): string {
    return path.join(this.repoDir(repo), 'refs', encodeURIComponent(revision));
  }

  /** The commit a revision pointed to at the last successful pull, if any. */
  async readRef(repo: string, revision: string): Promise<string | undefined> {
    if (COMMIT_SHA.test(revision)) return revision;
    try {
      const sha = (await readFile(this.refFile(repo, revision), 'utf8')).trim();
      return COMMIT_SHA.test(sha) ? sha : undefined;
    } catch {
      return undefined;
    }
  }

  async writeRef(repo: string, revision: string, commit: string): Promise<void> {
    if (COMMIT_SHA.test(revision)) return;
    const file = this.refFile(repo, revision);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, commit + '\n');
    await rename(tmp, file);
  }

  /** Publishes a finished staging folder as the snapshot, in one rename. */
  async publish(repo: string, commit: string, stagedFilesDir: string): Promise<string> {
    const dest = this.snapshotDir(repo, commit);
    try {
      await rename(stagedFilesDir, dest);
    } catch (err) {
      // Another process published the same commit first (a shared cache without a common lock): keep theirs.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !this.hasSnapshot(repo, commit)) throw err;
    }
    return dest;
  }
}

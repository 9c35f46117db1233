/**
 * One downloader per snapshot (Node only). The edge and a GPU node started together on one host may both
 * resolve the same hf:// ref: without a lock they would append to the same .part files and corrupt them.
 * The first takes `<repo>/.partial/<commit>.lock` (created exclusively, holding host and pid); the others
 * wait until the snapshot appears, or take over when the holder is gone: a pid that no longer runs on this
 * host, or, for a holder on another host (a shared cache disk), a lock untouched for STALE_LOCK_MS.
 */
import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';

export const LOCK_POLL_MS = 200;
/** A lock from another host is considered abandoned after this long without a refresh. */
export const STALE_LOCK_MS = 10 * 60_000;
/** The holder refreshes the lock's mtime this often, so long downloads do not look abandoned. */
const LOCK_REFRESH_MS = 30_000;

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

async function holderIsGone(lockFile: string): Promise<boolean> {
  const [text, st] = await Promise.all([readFile(lockFile, 'utf8').catch(() => ''), stat(lockFile).catch(() => undefined)]);
  if (!st) return false; // released meanwhile: the caller simply tries again
  const [host, pidText] = text.trim().split(' ');
  if (host === hostname() && Number(pidText) > 0) return !processRuns(Number(pidText));
  return Date.now() - st.mtimeMs > STALE_LOCK_MS;
}

async function tryAcquire(lockFile: string): Promise<boolean> {
  try {
    const fh = await open(lockFile, 'wx');
    await fh.writeFile(`${hostname()} ${process.pid}\n`);
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Runs `work` holding the lock, unless `done()` becomes true while waiting for another holder (then the
 * other process did the work and this returns undefined).
 */
export async function withCacheLock<T>(lockFile: string, done: () => boolean, work: () => Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  for (;;) {
    if (done()) return undefined;
    if (await tryAcquire(lockFile)) break;
    if (await holderIsGone(lockFile)) {
      await rm(lockFile, { force: true });
      continue;
    }
    signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  const refresh = setInterval(() => {
    const t = new Date();
    utimes(lockFile, t, t).catch(() => undefined);
  }, LOCK_REFRESH_MS);
  refresh.unref();
  try {
    return await work();
  } finally {
    clearInterval(refresh);
    await rm(lockFile, { force: true });
  }
}

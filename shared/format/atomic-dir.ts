/**
 * Replacing a folder atomically (Node only): build it beside the target under a hidden name, then
 * rename. Names carry the writer's pid, so a later writer can tell a dead writer's leftovers from a
 * live one's:
 *   .<name>.abq-partial-<pid>-<random>   being written
 *   .<name>.abq-old-<pid>-<random>       the previous target, deleted once the new one is in place
 */
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { syncDirectory } from './safetensors-write.ts';

export const PARTIAL_TAG = 'abq-partial';
export const OLD_TAG = 'abq-old';

/** A hidden, unique path beside `target`: `.<name>.<tag>-<pid>-<random>`. */
export function siblingPath(target: string, tag: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Renames `from` onto `to`; an existing `to` is moved aside first and deleted after. */
export async function moveIntoPlace(from: string, to: string): Promise<void> {
  let old: string | undefined;
  if (await exists(to)) {
    old = siblingPath(to, OLD_TAG);
    await rename(to, old);
  }
  try {
    await rename(from, to);
  } catch (e) {
    if (old) await rename(old, to); // put the previous model back
    throw e;
  }
  await syncDirectory(path.dirname(to));
  if (old) await rm(old, { recursive: true, force: true });
}

/**
 * Cleans up after writers that died: their partial folders are deleted; an "old" folder is deleted
 * when the target exists, else restored (the writer died between its two renames).
 */
export async function removeStaleSiblings(target: string): Promise<void> {
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = entry.startsWith(prefix) ? /^(abq-partial|abq-old)-(\d+)-[0-9a-f]+$/.exec(entry.slice(prefix.length)) : null;
    if (!m || processAlive(Number(m[2]))) continue;
    const full = path.join(parent, entry);
    if (m[1] === OLD_TAG && !(await exists(target))) await rename(full, target);
    else await rm(full, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

export async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(file, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * On-disk storage of the test Hub server, laid out like a tiny git + LFS host:
 *   <root>/repos/<ns>/<name>.json   repo record: owner, visibility, branches, commits (each with a full tree)
 *   <root>/objects/<git-sha1>       content of regular (non-LFS) files, named by git blob id
 *   <root>/lfs/<ns>/<name>/<sha256> LFS objects of one repo, named by their oid (scoped per repo, as on the
 *                                   Hub: pushing the same weights to a new repo uploads them again); written
 *                                   via temp file + rename only after the bytes hashed to the announced oid
 * Trees are stored whole per commit (repos in tests hold a handful of files), which keeps lookups trivial.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface TreeEntry {
  path: string;
  size: number;
  /** git blob id: of the content for regular files, of the pointer file for LFS files. */
  oid: string;
  lfs?: { oid: string; size: number; pointerSize: number };
}

export interface CommitRecord {
  id: string;
  parent: string | null;
  title: string;
  description?: string;
  date: string;
  tree: Record<string, TreeEntry>;
}

export interface RepoRecord {
  id: string; // "ns/name"
  owner: string;
  private: boolean;
  license?: string;
  branches: Record<string, string>; // branch -> commit id
  commits: Record<string, CommitRecord>;
}

/** What a new repo starts with, like the Hub: a .gitattributes that sends model weights through LFS. */
export const DEFAULT_GITATTRIBUTES = ['*.safetensors', '*.bin', '*.pt', '*.pth', '*.gguf', '*.onnx', '*.wasm', '*.model', '*.npz']
  .map((p) => `${p} filter=lfs diff=lfs merge=lfs -text`)
  .join('\n') + '\n';

export function gitBlobId(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export function lfsPointer(oid: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`;
}

export class HubStore {
  constructor(readonly root: string) {}

  private repoFile(id: string): string {
    return path.join(this.root, 'repos', `${id}.json`);
  }

  objectPath(gitOid: string): string {
    return path.join(this.root, 'objects', gitOid);
  }

  lfsPath(repoId: string, oid: string): string {
    return path.join(this.root, 'lfs', repoId, oid);
  }

  async init(): Promise<void> {
    for (const dir of ['repos', 'objects', 'lfs', 'tmp']) await mkdir(path.join(this.root, dir), { recursive: true });
  }

  /** A fresh temp path under the store, for uploads that are renamed into place when complete. */
  tempPath(): string {
    return path.join(this.root, 'tmp', randomBytes(8).toString('hex'));
  }

  async getRepo(id: string): Promise<RepoRecord | undefined> {
    const file = this.repoFile(id);
    if (!existsSync(file)) return undefined;
    return JSON.parse(await readFile(file, 'utf8')) as RepoRecord;
  }

  async saveRepo(repo: RepoRecord): Promise<void> {
    const file = this.repoFile(repo.id);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = this.tempPath();
    await writeFile(tmp, JSON.stringify(repo));
    await rename(tmp, file); // atomic: a reader never sees half a record
  }

  hasLfs(repoId: string, oid: string): boolean {
    return existsSync(this.lfsPath(repoId, oid));
  }

  /** Stores a regular file's content and returns its tree entry. */
  async putRegular(filePath: string, content: Uint8Array): Promise<TreeEntry> {
    const oid = gitBlobId(content);
    const dest = this.objectPath(oid);
    if (!existsSync(dest)) {
      const tmp = this.tempPath();
      await writeFile(tmp, content);
      await rename(tmp, dest);
    }
    return { path: filePath, size: content.length, oid };
  }

  lfsEntry(filePath: string, oid: string, size: number): TreeEntry {
    const pointer = lfsPointer(oid, size);
    return { path: filePath, size, oid: gitBlobId(Buffer.from(pointer)), lfs: { oid, size, pointerSize: pointer.length } };
  }

  /** Where the bytes of a tree entry live on disk. */
  contentPath(repoId: string, entry: TreeEntry): string {
    return entry.lfs ? this.lfsPath(repoId, entry.lfs.oid) : this.objectPath(entry.oid);
  }

  /** Appends a commit to a branch and returns it. The id hashes the parent, tree and message, like git. */
  async commit(repo: RepoRecord, branch: string, title: string, tree: Record<string, TreeEntry>, description?: string): Promise<CommitRecord> {
    const parent = repo.branches[branch] ?? null;
    const date = new Date().toISOString();
    const id = createHash('sha1').update(JSON.stringify({ parent, title, description, date, tree, nonce: randomBytes(4).toString('hex') })).digest('hex');
    const record: CommitRecord = { id, parent, title, description, date, tree };
    repo.commits[id] = record;
    repo.branches[branch] = id;
    await this.saveRepo(repo);
    return record;
  }

  /** A branch name or a full commit id, resolved to the commit; undefined when neither exists. */
  resolveRevision(repo: RepoRecord, revision: string): CommitRecord | undefined {
    const byBranch = repo.branches[revision];
    if (byBranch) return repo.commits[byBranch];
    return repo.commits[revision];
  }
}

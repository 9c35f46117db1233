/**
 * Upload endpoints, in the order @huggingface/hub's commit() calls them:
 * 1. POST /api/models/<id>/preupload/<rev>: which files go through LFS ("lfs") and which inline ("regular");
 * 2. POST /<id>.git/info/lfs/objects/batch: an upload URL per LFS object, or none when the object is
 *    already stored (this is what lets an interrupted push be rerun without sending finished files again);
 * 3. PUT /lfs-upload/<ticket>: the bytes, streamed to a temp file, hashed, renamed into place if they match;
 * 4. POST /api/models/<id>/commit/<rev>: NDJSON (header, file, lfsFile, deletedFile lines), applied atomically.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { requireWrite } from './auth.ts';
import type { Call } from './context.ts';
import { HttpError, readBody, readJson, sendJson } from './http-util.ts';
import type { TreeEntry } from './store.ts';

function lfsPatterns(gitattributes: string): RegExp[] {
  return gitattributes
    .split('\n')
    .filter((line) => /\bfilter=lfs\b/.test(line))
    .map((line) => line.trim().split(/\s+/)[0])
    .map((glob) => new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$'));
}

export async function preupload({ ctx, req, res, params, grant }: Call): Promise<void> {
  const [id, revision] = params;
  const repo = requireWrite(await ctx.store.getRepo(id), grant, id);
  const body = await readJson<{ gitAttributes?: string; files: { path: string; size: number; sample: string }[] }>(req);
  const head = ctx.store.resolveRevision(repo, revision);
  if (!head) throw new HttpError(404, `Invalid rev id: ${revision}`, 'RevisionNotFound');
  const attributesEntry = head.tree['.gitattributes'];
  const attributes = body.gitAttributes ?? (attributesEntry ? await readFile(ctx.store.contentPath(id, attributesEntry), 'utf8') : '');
  const patterns = lfsPatterns(attributes);
  const files = body.files.map((f) => {
    const base = f.path.split('/').at(-1) ?? f.path;
    const binary = Buffer.from(f.sample, 'base64').includes(0);
    const lfs = f.size > ctx.lfsThresholdBytes || binary || patterns.some((p) => p.test(base) || p.test(f.path));
    return { path: f.path, uploadMode: lfs ? 'lfs' : 'regular', shouldIgnore: false };
  });
  sendJson(res, 200, { files, commitOid: head.id });
}

export async function lfsBatch({ ctx, req, res, params, grant }: Call): Promise<void> {
  const [id] = params;
  requireWrite(await ctx.store.getRepo(id), grant, id);
  const body = await readJson<{ operation: string; transfers?: string[]; objects: { oid: string; size: number }[] }>(req);
  if (body.operation !== 'upload') throw new HttpError(400, `only the "upload" operation is supported, got "${body.operation}"`);
  if (body.transfers && !body.transfers.includes('basic')) throw new HttpError(400, 'this server only speaks the "basic" LFS transfer');
  const objects = body.objects.map(({ oid, size }) => {
    if (!/^[0-9a-f]{64}$/.test(oid)) return { oid, size, error: { code: 422, message: `invalid oid ${oid}` } };
    if (ctx.store.hasLfs(id, oid)) return { oid, size, authenticated: true }; // already there: no upload action
    const ticket = randomBytes(12).toString('hex');
    ctx.uploadTickets.set(ticket, { repoId: id, oid, size });
    return { oid, size, authenticated: true, actions: { upload: { href: `${ctx.baseUrl}/lfs-upload/${ticket}`, header: {} } } };
  });
  sendJson(res, 200, { transfer: 'basic', objects }, { 'Content-Type': 'application/vnd.git-lfs+json' });
}

export async function lfsUpload({ ctx, req, res, params, fault }: Call): Promise<void> {
  const ticket = ctx.uploadTickets.get(params[0]);
  if (!ticket) throw new HttpError(403, 'unknown or expired upload URL');
  const tmp = ctx.store.tempPath();
  const out = createWriteStream(tmp);
  const hash = createHash('sha256');
  let received = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (fault?.kind === 'drop-request' && received >= fault.afterBytes) {
        req.socket.destroy(); // the connection dies mid-upload; the partial temp file is thrown away below
        throw new Error('dropped by fault injection');
      }
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    if (fault?.kind === 'drop-request') return;
    throw err;
  }
  const digest = hash.digest('hex');
  if (received !== ticket.size || digest !== ticket.oid) {
    await rm(tmp, { force: true });
    throw new HttpError(400, `uploaded bytes do not match the announced object (${received} bytes, sha256 ${digest})`);
  }
  const dest = ctx.store.lfsPath(ticket.repoId, ticket.oid);
  await mkdir(path.dirname(dest), { recursive: true });
  await rename(tmp, dest);
  ctx.uploadTickets.delete(params[0]);
  res.writeHead(200, { ETag: `"${digest}"`, 'Content-Length': 0 });
  res.end();
}

type NdjsonLine =
  | { key: 'header'; value: { summary: string; description?: string; parentCommit?: string } }
  | { key: 'file'; value: { path: string; content: string; encoding?: 'base64' | 'utf-8' } }
  | { key: 'lfsFile'; value: { path: string; oid: string; size: number; algo?: string } }
  | { key: 'deletedFile'; value: { path: string } };

export async function commit({ ctx, req, res, params, query, grant }: Call): Promise<void> {
  const [id, branch] = params;
  const repo = requireWrite(await ctx.store.getRepo(id), grant, id);
  if (query.has('create_pr')) throw new HttpError(400, 'pull requests are not supported by this test server');
  const headId = repo.branches[branch];
  if (!headId) throw new HttpError(404, `Invalid rev id: ${branch}`, 'RevisionNotFound');
  const lines = (await readBody(req)).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  const parsed = lines.map((l) => JSON.parse(l) as NdjsonLine);
  const header = parsed[0];
  if (header?.key !== 'header') throw new HttpError(400, 'the first NDJSON line must be the commit header');
  if (header.value.parentCommit && header.value.parentCommit !== headId) {
    throw new HttpError(412, `A commit has happened since ${header.value.parentCommit}: the branch is at ${headId}`);
  }
  const tree: Record<string, TreeEntry> = { ...repo.commits[headId].tree };
  for (const line of parsed.slice(1)) {
    if (line.key === 'file') {
      const bytes = Buffer.from(line.value.content, line.value.encoding === 'base64' ? 'base64' : 'utf8');
      tree[line.value.path] = await ctx.store.putRegular(line.value.path, bytes);
    } else if (line.key === 'lfsFile') {
      if (!ctx.store.hasLfs(id, line.value.oid)) throw new HttpError(422, `LFS object ${line.value.oid} for ${line.value.path} was never uploaded`);
      tree[line.value.path] = ctx.store.lfsEntry(line.value.path, line.value.oid, line.value.size);
    } else if (line.key === 'deletedFile') {
      delete tree[line.value.path];
    } else {
      throw new HttpError(400, `unknown NDJSON key "${(line as { key: string }).key}"`);
    }
  }
  const record = await ctx.store.commit(repo, branch, header.value.summary, tree, header.value.description);
  sendJson(res, 200, { success: true, commitOid: record.id, commitUrl: `${ctx.baseUrl}/${id}/commit/${record.id}`, hookOutput: '' });
}

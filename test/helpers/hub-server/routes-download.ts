/**
 * Download endpoints: GET /<id>/resolve/<rev>/<path> (Range, If-Range, ETag, X-Repo-Commit, and for LFS
 * files X-Linked-Size / X-Linked-ETag, as huggingface.co sends them) and GET /api/models/<id>/tree/<rev>[/<dir>]
 * (recursive or one level, paginated through a Link: rel="next" header).
 */
import { createReadStream } from 'node:fs';
import { requireRead } from './auth.ts';
import type { Call } from './context.ts';
import { HttpError, parseRange, sendJson } from './http-util.ts';
import type { CommitRecord } from './store.ts';

async function readableCommit({ ctx, params, grant }: Call): Promise<CommitRecord> {
  const [id, revision] = params;
  const repo = requireRead(await ctx.store.getRepo(id), grant, id);
  const commit = ctx.store.resolveRevision(repo, revision);
  if (!commit) throw new HttpError(404, `Invalid rev id: ${revision}`, 'RevisionNotFound');
  return commit;
}

export async function resolveFile(call: Call): Promise<void> {
  const { ctx, req, res, params, fault } = call;
  const commit = await readableCommit(call);
  const entry = commit.tree[params[2]];
  if (!entry) throw new HttpError(404, `Entry not found: ${params[2]}`, 'EntryNotFound');
  const etag = `"${entry.lfs?.oid ?? entry.oid}"`;
  const headers: Record<string, string | number> = {
    ETag: etag,
    'X-Repo-Commit': commit.id,
    'Accept-Ranges': 'bytes',
    'Content-Type': 'application/octet-stream',
    ...(entry.lfs && { 'X-Linked-Size': entry.size, 'X-Linked-ETag': etag }),
  };
  // If-Range: resume only when the client's partial bytes belong to this same content.
  const ifRange = req.headers['if-range'];
  const range = ifRange && ifRange !== etag ? null : parseRange(req.headers.range, entry.size);
  if (range === 'unsatisfiable') {
    if (entry.size === 0) {
      // An empty file has no byte 0; answer like a full response so the size probe still learns "0".
      res.writeHead(200, { ...headers, 'Content-Range': 'bytes */0', 'Content-Length': 0 });
      res.end();
      return;
    }
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${entry.size}` });
    res.end();
    return;
  }
  const start = range ? range.start : 0;
  const end = range ? range.end : entry.size - 1;
  const length = Math.max(0, end - start + 1);
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Length': length,
    ...(range && { 'Content-Range': `bytes ${start}-${end}/${entry.size}` }),
  });
  if (length === 0) {
    res.end();
    return;
  }
  let sent = 0;
  let corrupted = false;
  for await (const chunk of createReadStream(ctx.store.contentPath(params[0], entry), { start, end }) as AsyncIterable<Buffer>) {
    let out = chunk;
    if (fault?.kind === 'corrupt-response' && !corrupted) {
      out = Buffer.from(chunk);
      out[0] ^= 0xff;
      corrupted = true;
    }
    if (fault?.kind === 'drop-response' && sent + out.length >= fault.afterBytes) {
      res.write(out.subarray(0, Math.max(0, fault.afterBytes - sent)));
      // Let the partial bytes reach the client before the connection dies.
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.destroy();
      return;
    }
    sent += out.length;
    if (!res.write(out)) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

export async function listTree(call: Call): Promise<void> {
  const { ctx, res, params, query } = call;
  const commit = await readableCommit(call);
  const dir = (params[2] ?? '').replace(/\/+$/, '');
  const prefix = dir ? dir + '/' : '';
  const recursive = query.get('recursive') === 'true';
  const entries = new Map<string, object>();
  for (const file of Object.values(commit.tree).sort((a, b) => a.path.localeCompare(b.path))) {
    if (!file.path.startsWith(prefix)) continue;
    const rest = file.path.slice(prefix.length).split('/');
    // Directories are listed too (the Hub does), at every level when recursive, else only the first.
    for (let depth = 1; depth < rest.length && (recursive || depth === 1); depth++) {
      const dirPath = prefix + rest.slice(0, depth).join('/');
      entries.set(dirPath, { type: 'directory', oid: '0'.repeat(40), size: 0, path: dirPath });
    }
    if (rest.length === 1 || recursive) entries.set(file.path, { type: 'file', oid: file.oid, size: file.size, path: file.path, ...(file.lfs && { lfs: file.lfs }) });
  }
  if (dir && entries.size === 0) throw new HttpError(404, `Entry not found: ${dir}`, 'EntryNotFound');
  const all = [...entries.values()];
  const cursor = Number(query.get('cursor') ?? '0');
  const page = all.slice(cursor, cursor + ctx.treePageSize);
  const next = cursor + ctx.treePageSize;
  const headers: Record<string, string> = {};
  if (next < all.length) {
    const url = new URL(`${ctx.baseUrl}/api/models/${params[0]}/tree/${encodeURIComponent(params[1])}${dir ? '/' + dir : ''}`);
    url.searchParams.set('recursive', String(recursive));
    url.searchParams.set('expand', query.get('expand') ?? 'false');
    url.searchParams.set('cursor', String(next));
    headers.Link = `<${url.href}>; rel="next"`;
  }
  sendJson(res, 200, page, headers);
}

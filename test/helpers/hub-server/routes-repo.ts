/**
 * Repo-level endpoints: POST /api/repos/create, GET /api/models/<id>[/revision/<rev>] and
 * POST /api/models/<id>/branch/<branch>, with the JSON shapes @huggingface/hub 2.x reads.
 */
import { requireNamespaceWrite, requireRead, requireWrite } from './auth.ts';
import type { Call } from './context.ts';
import { HttpError, readJson, sendJson } from './http-util.ts';
import { DEFAULT_GITATTRIBUTES, type RepoRecord } from './store.ts';

const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export async function createRepo({ ctx, req, res, grant }: Call): Promise<void> {
  const body = await readJson<{ name?: string; organization?: string; type?: string; visibility?: string; private?: boolean; license?: string }>(req);
  if (body.type && body.type !== 'model') throw new HttpError(400, `this test server hosts models only, got type "${body.type}"`);
  if (!body.name || !REPO_NAME.test(body.name)) throw new HttpError(400, `invalid repo name "${body.name ?? ''}"`);
  const namespace = body.organization ?? grant?.user ?? '';
  requireNamespaceWrite(grant, namespace);
  const id = `${namespace}/${body.name}`;
  const url = `${ctx.baseUrl}/${id}`;
  if (await ctx.store.getRepo(id)) {
    sendJson(res, 409, { error: 'You already created this model repo', url });
    return;
  }
  const repo: RepoRecord = {
    id,
    owner: namespace,
    private: body.visibility ? body.visibility !== 'public' : Boolean(body.private),
    license: body.license,
    branches: {},
    commits: {},
  };
  const attributes = await ctx.store.putRegular('.gitattributes', Buffer.from(DEFAULT_GITATTRIBUTES));
  await ctx.store.commit(repo, 'main', 'initial commit', { '.gitattributes': attributes });
  sendJson(res, 200, { url, name: id, id: `repo-${id}` });
}

export async function modelInfo({ ctx, res, params, grant }: Call): Promise<void> {
  const [id, revision = 'main'] = params;
  const repo = requireRead(await ctx.store.getRepo(id), grant, id);
  const commit = ctx.store.resolveRevision(repo, revision === 'HEAD' ? 'main' : revision);
  if (!commit) throw new HttpError(404, `Invalid rev id: ${revision}`, 'RevisionNotFound');
  sendJson(res, 200, {
    _id: `repo-${id}`,
    id,
    private: repo.private,
    sha: commit.id,
    lastModified: commit.date,
    gated: false,
    downloads: 0,
    likes: 0,
    pipeline_tag: 'text-generation',
    siblings: Object.keys(commit.tree).map((rfilename) => ({ rfilename })),
  });
}

export async function createBranch({ ctx, req, res, params, grant }: Call): Promise<void> {
  const [id, branch] = params;
  const repo = requireWrite(await ctx.store.getRepo(id), grant, id);
  const body = await readJson<{ startingPoint?: string; emptyBranch?: boolean; overwrite?: boolean }>(req);
  if (repo.branches[branch] && !body.overwrite) throw new HttpError(409, `Reference already exists: ${branch}`);
  if (body.emptyBranch) throw new HttpError(400, 'empty branches are not supported by this test server');
  const from = ctx.store.resolveRevision(repo, body.startingPoint ?? 'main');
  if (!from) throw new HttpError(404, `Invalid rev id: ${body.startingPoint}`, 'RevisionNotFound');
  repo.branches[branch] = from.id;
  await ctx.store.saveRepo(repo);
  sendJson(res, 200, {});
}

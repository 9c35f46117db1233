import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullModel } from '../../../shared/hub/pull-model.ts';
import { pushModel } from '../../../shared/hub/push-model.ts';
import { resolveModelRef } from '../../../shared/hub/resolve-model-ref.ts';
import { startHubServer, type HubServer } from '../../helpers/hub-server/index.ts';
import { makePackedModel, tempDir, TOKENS, WRITE_TOKEN, READ_TOKEN } from './fixtures.ts';

const FAST = { retries: 3, baseDelayMs: 1 };

describe('push and pull against the local Hub', () => {
  let hub: HubServer;
  let work: string;
  let model: string;

  beforeAll(async () => {
    hub = await startHubServer({ tokens: TOKENS, treePageSize: 2 });
    work = await tempDir();
    model = await makePackedModel(path.join(work, 'model'));
  });
  afterAll(async () => {
    await hub.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('pushes a packed folder: creates the repo, sends weights through LFS, adds a model card', async () => {
    const result = await pushModel({ dir: model, repo: 'alice/tiny-w4a8', endpoint: hub.url, token: WRITE_TOKEN, license: 'mit', env: {}, ...FAST });
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(result.card).toBe('generated');
    expect(result.createdRepo).toBe(true);
    expect(result.files.map((f) => f.path)).toEqual(['config.json', 'extra/notes.txt', 'model.safetensors', 'README.md']);
    // The weights went through the LFS batch + PUT path, the small files inline in the commit.
    expect(hub.requests.some((r) => r.method === 'PUT' && r.path.startsWith('/lfs-upload/') && r.status === 200)).toBe(true);
    const repo = await hub.store.getRepo('alice/tiny-w4a8');
    const tree = repo!.commits[repo!.branches.main].tree;
    expect(tree['model.safetensors'].lfs?.oid).toMatch(/^[0-9a-f]{64}$/);
    expect(tree['config.json'].lfs).toBeUndefined();
    expect(tree['README.md']).toBeDefined();
  });

  it('pulls it back into the cache byte for byte, through a paginated tree listing', async () => {
    const cacheDir = path.join(work, 'cache');
    const pulled = await pullModel({ repo: 'alice/tiny-w4a8', endpoint: hub.url, cacheDir, env: {}, ...FAST });
    expect(pulled.fromCache).toBe(false);
    expect(pulled.dir).toBe(path.join(cacheDir, 'alice', 'tiny-w4a8', pulled.commit));
    for (const f of ['config.json', 'model.safetensors', 'extra/notes.txt']) {
      expect((await readFile(path.join(pulled.dir, f))).equals(await readFile(path.join(model, f))), f).toBe(true);
    }
    const card = await readFile(path.join(pulled.dir, 'README.md'), 'utf8');
    expect(card).toMatch(/^---\n[\s\S]*license: mit[\s\S]*\n---\n/);
    expect(existsSync(path.join(cacheDir, 'alice', 'tiny-w4a8', '.partial', pulled.commit))).toBe(false);
    expect((await readFile(path.join(cacheDir, 'alice', 'tiny-w4a8', 'refs', 'main'), 'utf8')).trim()).toBe(pulled.commit);
    // A tree page holds 2 entries here, so the listing needed several pages.
    expect(hub.requests.filter((r) => r.path.includes('/tree/')).length).toBeGreaterThan(1);

    const again = await pullModel({ repo: 'alice/tiny-w4a8', endpoint: hub.url, cacheDir, env: {}, ...FAST });
    expect(again).toMatchObject({ fromCache: true, commit: pulled.commit, dir: pulled.dir });
  });

  it('uses the cached snapshot when the Hub cannot be reached, and says so', async () => {
    const cacheDir = path.join(work, 'cache');
    const offline = await pullModel({ repo: 'alice/tiny-w4a8', endpoint: 'http://127.0.0.1:9', cacheDir, env: {}, retries: 0 });
    expect(offline.offline).toBe(true);
    expect(existsSync(path.join(offline.dir, 'model.safetensors'))).toBe(true);
    const before = hub.requests.length;
    const airGapped = await pullModel({ repo: 'alice/tiny-w4a8', endpoint: hub.url, cacheDir, env: { HF_HUB_OFFLINE: '1' } });
    expect(airGapped).toMatchObject({ offline: true, dir: offline.dir });
    expect(hub.requests.length).toBe(before);
    await expect(pullModel({ repo: 'alice/other', endpoint: hub.url, cacheDir, env: { HF_HUB_OFFLINE: '1' } })).rejects.toThrow(/HF_HUB_OFFLINE=1 and alice\/other@main is not in the cache/);
  });

  it('pushes to a new branch, private, and pulls that revision with a token; a commit id works as a revision', async () => {
    const first = await pushModel({ dir: model, repo: 'alice/private-w4a8', private: true, revision: 'v1', message: 'first cut', endpoint: hub.url, token: WRITE_TOKEN, env: {}, ...FAST });
    expect(first.revision).toBe('v1');
    const repo = await hub.store.getRepo('alice/private-w4a8');
    expect(repo!.private).toBe(true);
    expect(repo!.commits[repo!.branches.v1].title).toBe('first cut');
    const cacheDir = path.join(work, 'cache-private');
    const pulled = await pullModel({ repo: 'alice/private-w4a8', revision: 'v1', endpoint: hub.url, token: READ_TOKEN, cacheDir, env: {}, ...FAST });
    expect(pulled.commit).toBe(first.commit);
    const byCommit = await pullModel({ repo: 'alice/private-w4a8', revision: first.commit, endpoint: hub.url, token: READ_TOKEN, cacheDir, env: {}, ...FAST });
    expect(byCommit).toMatchObject({ fromCache: true, dir: pulled.dir });
  });

  it('a second push of unchanged files sends no LFS bytes again', async () => {
    const putsBefore = hub.requests.filter((r) => r.method === 'PUT').length;
    const again = await pushModel({ dir: model, repo: 'alice/tiny-w4a8', endpoint: hub.url, token: WRITE_TOKEN, env: {}, ...FAST });
    expect(hub.requests.filter((r) => r.method === 'PUT').length).toBe(putsBefore);
    expect(again.createdRepo).toBe(false);
  });

  it('two pulls of one commit at once (edge and GPU node on one host) download it once and agree', async () => {
    const cacheDir = path.join(work, 'cache-concurrent');
    const downloadsBefore = hub.requests.filter((r) => r.path.endsWith('/model.safetensors') && r.range !== 'bytes=0-0').length;
    const [a, b] = await Promise.all([
      pullModel({ repo: 'alice/tiny-w4a8', endpoint: hub.url, cacheDir, env: {}, ...FAST }),
      pullModel({ repo: 'alice/tiny-w4a8', endpoint: hub.url, cacheDir, env: {}, ...FAST }),
    ]);
    expect(a.dir).toBe(b.dir);
    expect([a.fromCache, b.fromCache].sort()).toEqual([false, true]);
    expect(hub.requests.filter((r) => r.path.endsWith('/model.safetensors') && r.range !== 'bytes=0-0').length - downloadsBefore).toBe(1);
    expect((await readFile(path.join(a.dir, 'model.safetensors'))).equals(await readFile(path.join(model, 'model.safetensors')))).toBe(true);
    expect(existsSync(path.join(cacheDir, 'alice', 'tiny-w4a8', '.partial', `${a.commit}.lock`))).toBe(false);
  });

  it('takes over the lock of a pull that died', async () => {
    const cacheDir = path.join(work, 'cache-stale');
    const repo = await hub.store.getRepo('alice/tiny-w4a8');
    const lock = path.join(cacheDir, 'alice', 'tiny-w4a8', '.partial', `${repo!.branches.main}.lock`);
    await mkdir(path.dirname(lock), { recursive: true });
    await writeFile(lock, `${hostname()} 999999999\n`); // no such process
    const pulled = await pullModel({ repo: 'alice/tiny-w4a8', endpoint: hub.url, cacheDir, env: {}, ...FAST });
    expect(pulled.fromCache).toBe(false);
    expect(existsSync(lock)).toBe(false);
  });

  it('resolveModelRef: local folders as they are, hf:// refs through the cache', async () => {
    const cacheDir = path.join(work, 'cache');
    expect(await resolveModelRef(model)).toBe(path.resolve(model));
    const dir = await resolveModelRef('hf://alice/tiny-w4a8@main', { endpoint: hub.url, cacheDir, env: {}, ...FAST });
    expect(existsSync(path.join(dir, 'model.safetensors'))).toBe(true);
    await expect(resolveModelRef(path.join(work, 'missing'))).rejects.toMatchObject({ kind: 'invalid-input' });
  });
});

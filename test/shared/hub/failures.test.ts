/**
 * Failure injection: every fault ends in the documented behaviour (docs/PUBLISHING.md, "When things go
 * wrong"), and a failed pull never leaves a snapshot or a ref in the cache, only .partial to resume.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HubError } from '../../../shared/hub/errors.ts';
import { pullModel } from '../../../shared/hub/pull-model.ts';
import { pushModel } from '../../../shared/hub/push-model.ts';
import { startHubServer, type HubServer } from '../../helpers/hub-server/index.ts';
import { BOB_TOKEN, makePackedModel, READ_TOKEN, tempDir, TOKENS, WRITE_TOKEN } from './fixtures.ts';

const FAST = { retries: 2, baseDelayMs: 1, env: {} };
const NOT_PROBE = (r: { headers: Record<string, unknown> }) => r.headers.range !== 'bytes=0-0';

async function rejection(p: Promise<unknown>): Promise<HubError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(HubError);
  return err as HubError;
}

describe('Hub failures', () => {
  let hub: HubServer;
  let work: string;
  let model: string;
  let cacheDir: string;

  /** Nothing half-written: no snapshot folder (40 hex chars) and no ref for the repo. */
  async function expectNoSnapshot(repo: string): Promise<void> {
    const repoDir = path.join(cacheDir, ...repo.split('/'));
    const entries = existsSync(repoDir) ? await readdir(repoDir) : [];
    expect(entries.filter((e) => /^[0-9a-f]{40}$/.test(e))).toEqual([]);
    expect(existsSync(path.join(repoDir, 'refs'))).toBe(false);
  }

  beforeAll(async () => {
    hub = await startHubServer({ tokens: TOKENS });
    work = await tempDir();
    // 1 MB of weights, so a connection can really die in the middle of a body.
    model = await makePackedModel(path.join(work, 'model'), { embedElements: 256 * 1024 });
    await pushModel({ dir: model, repo: 'alice/base', endpoint: hub.url, token: WRITE_TOKEN, ...FAST });
  });
  afterAll(async () => {
    await hub.stop();
    await rm(work, { recursive: true, force: true });
  });
  beforeEach(async () => {
    hub.faults.clear();
    cacheDir = await tempDir('abq-hub-cache-');
  });

  it('a connection dropped mid-upload is retried and the push finishes', async () => {
    hub.faults.add({ method: 'PUT', path: '/lfs-upload/', action: { kind: 'drop-request', afterBytes: 64 * 1024 } });
    const result = await pushModel({ dir: model, repo: 'alice/dropped-once', endpoint: hub.url, token: WRITE_TOKEN, ...FAST });
    expect(hub.faults.fired).toBe(1);
    const repo = await hub.store.getRepo('alice/dropped-once');
    expect(repo!.branches.main).toBe(result.commit);
    expect(repo!.commits[result.commit].tree['model.safetensors'].size).toBe((await readFile(path.join(model, 'model.safetensors'))).length);
  });

  it('an upload that keeps failing ends in a network error, commits nothing, and a rerun finishes', async () => {
    hub.faults.add({ method: 'PUT', path: '/lfs-upload/', action: { kind: 'drop-request', afterBytes: 64 * 1024 }, times: Infinity });
    const err = await rejection(pushModel({ dir: model, repo: 'alice/dropped', endpoint: hub.url, token: WRITE_TOKEN, ...FAST }));
    expect(err.kind).toBe('network');
    expect(err.attempts).toBe(3);
    expect(err.message).toMatch(/Rerunning resumes/);
    const before = await hub.store.getRepo('alice/dropped');
    expect(Object.keys(before!.commits[before!.branches.main].tree)).toEqual(['.gitattributes']); // the commit never happened
    hub.faults.clear();
    const result = await pushModel({ dir: model, repo: 'alice/dropped', endpoint: hub.url, token: WRITE_TOKEN, ...FAST });
    const after = await hub.store.getRepo('alice/dropped');
    expect(Object.keys(after!.commits[result.commit].tree).sort()).toEqual(['.gitattributes', 'README.md', 'config.json', 'extra/notes.txt', 'model.safetensors']);
  });

  it('a push that fails at the commit step reruns without sending the uploaded weights again', async () => {
    hub.faults.add({ method: 'POST', path: '/commit/main', action: { kind: 'status', status: 502 }, times: Infinity });
    const putsBefore = hub.requests.filter((r) => r.method === 'PUT').length;
    const err = await rejection(pushModel({ dir: model, repo: 'alice/commit-fails', endpoint: hub.url, token: WRITE_TOKEN, ...FAST }));
    expect(err.kind).toBe('server');
    expect(err.status).toBe(502);
    const putsAfterFailure = hub.requests.filter((r) => r.method === 'PUT').length;
    expect(putsAfterFailure).toBeGreaterThan(putsBefore); // the weights did go up before the commit failed
    hub.faults.clear();
    const result = await pushModel({ dir: model, repo: 'alice/commit-fails', endpoint: hub.url, token: WRITE_TOKEN, ...FAST });
    expect(hub.requests.filter((r) => r.method === 'PUT').length).toBe(putsAfterFailure); // LFS batch: "already uploaded"
    expect((await hub.store.getRepo('alice/commit-fails'))!.branches.main).toBe(result.commit);
  });

  it('401: a rejected token stops at once, no retries', async () => {
    const before = hub.requests.length;
    const err = await rejection(pushModel({ dir: model, repo: 'alice/x', endpoint: hub.url, token: 'hf_not_a_real_token_99', ...FAST }));
    expect(err.kind).toBe('auth-rejected');
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/hf_no…99.*settings\/tokens/);
    expect(err.message).not.toContain('hf_not_a_real_token_99');
    expect(hub.requests.length - before).toBe(1);
  });

  it('401 on a private repo without a token is auth-missing; a read token cannot push (403)', async () => {
    await pushModel({ dir: model, repo: 'alice/secret', private: true, endpoint: hub.url, token: WRITE_TOKEN, ...FAST });
    const missing = await rejection(pullModel({ repo: 'alice/secret', endpoint: hub.url, cacheDir, ...FAST }));
    expect(missing.kind).toBe('auth-missing');
    expect(missing.message).toMatch(/HF_TOKEN/);
    await expectNoSnapshot('alice/secret');
    const otherUser = await rejection(pullModel({ repo: 'alice/secret', endpoint: hub.url, token: BOB_TOKEN, cacheDir, ...FAST }));
    expect(otherUser.kind).toBe('repo-not-found');
    const readOnly = await rejection(pushModel({ dir: model, repo: 'alice/secret', endpoint: hub.url, token: READ_TOKEN, ...FAST }));
    expect(readOnly.kind).toBe('auth-rejected');
    expect(readOnly.message).toMatch(/"write" role/);
  });

  it('no token, or one without the hf_ prefix, fails before any request', async () => {
    const before = hub.requests.length;
    expect((await rejection(pushModel({ dir: model, repo: 'alice/x', endpoint: hub.url, ...FAST }))).kind).toBe('auth-missing');
    expect((await rejection(pushModel({ dir: model, repo: 'alice/x', endpoint: hub.url, token: 'abc123', ...FAST }))).kind).toBe('auth-rejected');
    expect(hub.requests.length).toBe(before);
  });

  it('a repo id that is not one is refused before anything is written', async () => {
    const err = await rejection(pullModel({ repo: '../../etc', endpoint: hub.url, cacheDir, ...FAST }));
    expect(err.kind).toBe('invalid-input');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('404: a missing repo or revision is reported as such, once, with nothing in the cache', async () => {
    const before = hub.requests.length;
    const repoErr = await rejection(pullModel({ repo: 'alice/nope', endpoint: hub.url, token: READ_TOKEN, cacheDir, ...FAST }));
    expect(repoErr.kind).toBe('repo-not-found');
    expect(repoErr.message).toMatch(/alice\/nope.*check the spelling/);
    expect(hub.requests.length - before).toBe(1);
    const revErr = await rejection(pullModel({ repo: 'alice/base', revision: 'v9', endpoint: hub.url, cacheDir, ...FAST }));
    expect(revErr.kind).toBe('revision-not-found');
    expect(revErr.message).toMatch(/'v9'/);
    expect(existsSync(path.join(cacheDir, 'alice'))).toBe(false);
  });

  it('5xx: transient errors are retried; persistent ones end in a server error with no snapshot, and a rerun completes', async () => {
    hub.faults.add({ method: 'GET', path: '/resolve/', action: { kind: 'status', status: 503 }, times: 2 });
    const ok = await pullModel({ repo: 'alice/base', endpoint: hub.url, cacheDir, ...FAST });
    expect(hub.faults.fired).toBe(2);
    expect(existsSync(path.join(ok.dir, 'model.safetensors'))).toBe(true);

    cacheDir = await tempDir('abq-hub-cache-');
    hub.faults.clear();
    hub.faults.add({ method: 'GET', path: '/model.safetensors', match: NOT_PROBE, action: { kind: 'status', status: 500 }, times: Infinity });
    const err = await rejection(pullModel({ repo: 'alice/base', endpoint: hub.url, cacheDir, ...FAST }));
    expect(err.kind).toBe('server');
    expect(err.status).toBe(500);
    expect(err.attempts).toBe(3);
    await expectNoSnapshot('alice/base');
    hub.faults.clear();
    const rerun = await pullModel({ repo: 'alice/base', endpoint: hub.url, cacheDir, ...FAST });
    expect(rerun.commit).toBe(ok.commit);
  });

  it('a connection dropped mid-download resumes with a Range request', async () => {
    hub.faults.add({ method: 'GET', path: '/model.safetensors', match: NOT_PROBE, action: { kind: 'drop-response', afterBytes: 300_000 } });
    const pulled = await pullModel({ repo: 'alice/base', endpoint: hub.url, cacheDir, ...FAST });
    expect(hub.faults.fired).toBe(1);
    const resumed = hub.requests.filter((r) => r.path.endsWith('/model.safetensors') && r.range && r.range !== 'bytes=0-0');
    expect(resumed.length).toBe(1);
    expect(Number(/bytes=(\d+)-/.exec(resumed[0].range!)![1])).toBeGreaterThan(0);
    expect(resumed[0]).toMatchObject({ status: 206, ifRange: expect.stringMatching(/^"[0-9a-f]{64}"$/) });
    // Buffer.equals: vitest's deep equality walks a 1 MB buffer element by element (seconds).
    expect((await readFile(path.join(pulled.dir, 'model.safetensors'))).equals(await readFile(path.join(model, 'model.safetensors')))).toBe(true);
  });

  it('a corrupted download fails its checksum, is deleted, and a rerun downloads it again', async () => {
    hub.faults.add({ method: 'GET', path: '/model.safetensors', match: NOT_PROBE, action: { kind: 'corrupt-response' } });
    const err = await rejection(pullModel({ repo: 'alice/base', endpoint: hub.url, cacheDir, ...FAST }));
    expect(err.kind).toBe('checksum-mismatch');
    expect(err.message).toMatch(/model\.safetensors.*expected sha256/);
    await expectNoSnapshot('alice/base');
    const parts = path.join(cacheDir, 'alice', 'base', '.partial');
    const leftovers = existsSync(parts) ? await readdir(parts, { recursive: true }) : [];
    expect(leftovers.filter((f) => String(f).endsWith('.part'))).toEqual([]);
    const rerun = await pullModel({ repo: 'alice/base', endpoint: hub.url, cacheDir, ...FAST });
    expect(existsSync(path.join(rerun.dir, 'model.safetensors'))).toBe(true);
  });

  it('a tensor whose bytes do not match abq.checksums is caught after download', async () => {
    const bad = await makePackedModel(path.join(work, 'bad'), { corruptTensor: true });
    const refused = await rejection(pushModel({ dir: bad, repo: 'alice/bad', endpoint: hub.url, token: WRITE_TOKEN, ...FAST }));
    expect(refused.kind).toBe('checksum-mismatch'); // push checks before publishing...
    expect(refused.message).toMatch(/Re-pack it/);
    expect(await hub.store.getRepo('alice/bad')).toBeUndefined();
    // ...so publish it anyway, as a damaged upload or a broken mirror would serve it.
    await pushModel({ dir: bad, repo: 'alice/bad', endpoint: hub.url, token: WRITE_TOKEN, verify: false, ...FAST });
    const err = await rejection(pullModel({ repo: 'alice/bad', endpoint: hub.url, cacheDir, ...FAST }));
    expect(err.kind).toBe('checksum-mismatch');
    expect(err.message).toMatch(/tensor model\.embed_tokens\.weight failed its checksum/);
    await expectNoSnapshot('alice/bad');
  });

  it.runIf(existsSync('/dev/full'))('a full disk ends in disk-full naming the cache, with no snapshot', async () => {
    const repo = await hub.store.getRepo('alice/base');
    const sha = repo!.branches.main;
    const parts = path.join(cacheDir, 'alice', 'base', '.partial', sha, 'parts');
    await mkdir(parts, { recursive: true });
    await symlink('/dev/full', path.join(parts, 'model.safetensors.part')); // every write there fails with ENOSPC
    const err = await rejection(pullModel({ repo: 'alice/base', endpoint: hub.url, cacheDir, ...FAST }));
    expect(err.kind).toBe('disk-full');
    expect(err.message).toContain(cacheDir);
    expect(err.attempts).toBe(1);
    await expectNoSnapshot('alice/base');
  });

  it('an unreachable Hub with nothing cached is a network error after the retries', async () => {
    const err = await rejection(pullModel({ repo: 'alice/base', endpoint: 'http://127.0.0.1:9', cacheDir, ...FAST }));
    expect(err.kind).toBe('network');
    expect(err.attempts).toBe(3);
    expect(err.message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9.*HF_ENDPOINT/);
  });
});

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileDownloadInfo } from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadFileResumable } from '../../../shared/hub/download-file-resumable.ts';
import { pushModel } from '../../../shared/hub/push-model.ts';
import { toHubError } from '../../../shared/hub/to-hub-error.ts';
import { startHubServer, type HubServer } from '../../helpers/hub-server/index.ts';
import { makePackedModel, tempDir, TOKENS, WRITE_TOKEN } from './fixtures.ts';

describe('downloadFileResumable', () => {
  let hub: HubServer;
  let work: string;
  let original: Buffer;
  let info: { url: string; size: number; etag: string };

  beforeAll(async () => {
    hub = await startHubServer({ tokens: TOKENS });
    work = await tempDir();
    const model = await makePackedModel(path.join(work, 'model'));
    await pushModel({ dir: model, repo: 'alice/dl', endpoint: hub.url, token: WRITE_TOKEN, env: {} });
    original = await readFile(path.join(model, 'model.safetensors'));
    info = (await fileDownloadInfo({ repo: 'alice/dl', path: 'model.safetensors', hubUrl: hub.url }))!;
  });
  afterAll(async () => {
    await hub.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function partWith(bytes: Uint8Array): Promise<string> {
    const file = path.join(work, 'parts', `${Math.random().toString(36).slice(2)}.part`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
    return file;
  }

  it('appends to a partial file with a Range request the server answers 206', async () => {
    const part = await partWith(original.subarray(0, 1000));
    const resumedFrom = await downloadFileResumable({ ...info, partFile: part });
    expect(resumedFrom).toBe(1000);
    expect((await readFile(part)).equals(original)).toBe(true);
    expect(hub.requests.at(-1)).toMatchObject({ status: 206, range: 'bytes=1000-', ifRange: info.etag });
  });

  it('starts over when the content changed (If-Range mismatch -> 200)', async () => {
    const part = await partWith(Buffer.from('stale bytes of another version'));
    const resumedFrom = await downloadFileResumable({ ...info, etag: '"another-version"', partFile: part });
    expect(resumedFrom).toBe(0);
    expect(hub.requests.at(-1)).toMatchObject({ status: 200 });
    expect((await readFile(part)).equals(original)).toBe(true);
  });

  it('throws away a partial file longer than the real one, and skips a complete one', async () => {
    const tooLong = await partWith(Buffer.concat([original, Buffer.from('junk')]));
    await downloadFileResumable({ ...info, partFile: tooLong });
    expect((await readFile(tooLong)).equals(original)).toBe(true);
    const before = hub.requests.length;
    expect(await downloadFileResumable({ ...info, partFile: tooLong })).toBe(original.length);
    expect(hub.requests.length).toBe(before);
  });

  it('a connection that ends early is a retryable network error', async () => {
    hub.faults.add({ method: 'GET', path: '/model.safetensors', action: { kind: 'drop-response', afterBytes: 100 } });
    const part = path.join(work, 'parts', 'early.part');
    const err = await downloadFileResumable({ ...info, partFile: part }).catch((e: unknown) => e);
    expect(toHubError(err, { action: 'pull', repo: 'alice/dl', hubUrl: hub.url })).toMatchObject({ kind: 'network', retryable: true });
    expect((await readFile(part)).length).toBeLessThan(original.length);
  });
});

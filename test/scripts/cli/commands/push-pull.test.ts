/**
 * `abq-pack push` and `abq-pack pull` as a user runs them: flags, environment (HF_TOKEN, HF_ENDPOINT),
 * what goes to stdout (the commit URL, the snapshot folder) and to stderr, and complete --help texts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { commandUsage } from '../../../../scripts/cli/main.ts';
import { pullCommand } from '../../../../scripts/cli/commands/pull.ts';
import { pushCommand } from '../../../../scripts/cli/commands/push.ts';
import type { Command } from '../../../../scripts/cli/command.ts';
import { startHubServer, type HubServer } from '../../../helpers/hub-server/index.ts';
import { makePackedModel, tempDir, TOKENS, WRITE_TOKEN } from '../../../shared/hub/fixtures.ts';
import { REPO_ROOT } from '../../../helpers/shared-data.ts';
import { captureConsole as capture } from '../../../helpers/capture-console.ts';

/** Async on purpose: the Hub server runs in this process, so a synchronous child would deadlock it. */
const run = promisify(execFile);

const ENV_KEYS = ['HF_TOKEN', 'HF_ENDPOINT', 'ABQ_CACHE_DIR', 'HUGGING_FACE_HUB_TOKEN'] as const;


describe('abq-pack push / pull', () => {
  let hub: HubServer;
  let work: string;
  let model: string;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    hub = await startHubServer({ tokens: TOKENS });
    work = await tempDir();
    model = await makePackedModel(path.join(work, 'model'));
    await writeFile(path.join(model, 'eval_results.json'), JSON.stringify({ perplexity: 7.25, dataset: 'tinystories (validation)', baseline: 7.0 }));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  afterAll(async () => {
    await hub.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('push reads HF_TOKEN and HF_ENDPOINT, picks up eval_results.json, and prints the commit URL', async () => {
    process.env.HF_TOKEN = WRITE_TOKEN;
    process.env.HF_ENDPOINT = hub.url;
    const io = capture();
    const code = await pushCommand.run([model, 'alice/cli-model'], { revision: 'main', retries: '1', license: 'mit' });
    expect(code).toBe(0);
    expect(io.out).toHaveLength(1);
    expect(io.out[0]).toMatch(new RegExp(`^${hub.url}/alice/cli-model/commit/[0-9a-f]{40}$`));
    expect(io.err.join('\n')).toMatch(/files committed to alice\/cli-model@main \(model card generated\)/);
    const repo = await hub.store.getRepo('alice/cli-model');
    expect(Object.keys(repo!.commits[repo!.branches.main].tree)).toContain('eval_results.json');
  });

  it('push --print-card shows the card with the perplexity and sends nothing', async () => {
    const before = hub.requests.length;
    const io = capture();
    expect(await pushCommand.run([model, 'alice/cli-model'], { 'print-card': true, license: 'mit' })).toBe(0);
    const card = io.out.join('\n');
    expect(card).toMatch(/^---\nbase_model: karpathy\/tinyllamas/);
    expect(card).toMatch(/\| 7\.2500 \| 7\.0000 \| 3\.57% \|/);
    expect(hub.requests.length).toBe(before);
  });

  it('push --token and --endpoint win over the environment; failures throw a HubError for main() to print', async () => {
    process.env.HF_TOKEN = 'hf_wrong_token_from_env';
    process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
    capture();
    expect(await pushCommand.run([model, 'alice/cli-flags'], { token: WRITE_TOKEN, endpoint: hub.url, retries: '0' })).toBe(0);
    await expect(pushCommand.run([model, 'alice/cli-flags'], { token: 'hf_nobody_knows_me', endpoint: hub.url, retries: '0' }))
      .rejects.toMatchObject({ kind: 'auth-rejected' });
  });

  it('pull prints only the snapshot folder on stdout, honours --cache-dir and @revision', async () => {
    process.env.HF_ENDPOINT = hub.url;
    const cacheDir = path.join(work, 'cache');
    const io = capture();
    expect(await pullCommand.run(['alice/cli-model@main'], { 'cache-dir': cacheDir, retries: '1' })).toBe(0);
    expect(io.out).toHaveLength(1);
    expect(io.out[0].startsWith(path.join(cacheDir, 'alice', 'cli-model'))).toBe(true);
    expect(existsSync(path.join(io.out[0], 'model.safetensors'))).toBe(true);
    expect(io.err.join('\n')).toMatch(/commit [0-9a-f]{40}: 6 files/);
    const again = capture();
    expect(await pullCommand.run(['hf://alice/cli-model'], { 'cache-dir': cacheDir })).toBe(0);
    expect(again.err.join('\n')).toMatch(/already in the cache/);
  });

  it('pull refuses two different revisions and a malformed repo id', async () => {
    await expect(pullCommand.run(['alice/m@a'], { revision: 'b' })).rejects.toThrow(/two revisions given/);
    await expect(pullCommand.run(['not-a-repo'], {})).rejects.toThrow(/not a Hub repo id/);
  });

  it('through the real binary: a failure prints the fix and exits 1, --help exits 0', async () => {
    const bin = path.join(REPO_ROOT, 'scripts', 'bin', 'abq-pack.js');
    const env = { ...process.env, HF_TOKEN: '', HF_ENDPOINT: hub.url, ABQ_CACHE_DIR: path.join(work, 'bin-cache') };
    const failed = await run(process.execPath, [bin, 'pull', 'alice/does-not-exist', '--token', WRITE_TOKEN, '--retries', '0'], { env }).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/^abq-pack pull: repository alice\/does-not-exist was not found on http:\/\/127\.0\.0\.1:\d+ .*check the spelling/m);
    const help = await run(process.execPath, [bin, 'push', '--help'], { env });
    expect(help.stdout).toMatch(/^Usage: abq-pack push <dir> <repo> \[options\]/);
  });

  it.each([pushCommand, pullCommand])('$name --help documents every argument, option and the environment', (cmd: Command) => {
    const help = commandUsage(cmd);
    for (const p of cmd.positionals) expect(help).toMatch(new RegExp(`\\n  ${p.name}\\s+\\S`));
    for (const [name, spec] of Object.entries(cmd.options)) {
      expect(help).toContain(`--${name}`);
      expect(spec.description.length, name).toBeGreaterThan(10);
    }
    expect(help).toContain('HF_TOKEN');
    expect(help).toContain('HF_ENDPOINT');
    expect(help).toContain('docs/PUBLISHING.md');
    expect(cmd.examples?.length).toBeGreaterThanOrEqual(3);
  });
});

import { HubApiError } from '@huggingface/hub';
import { describe, expect, it } from 'vitest';
import { HubError } from '../../../shared/hub/errors.ts';
import { resolveHubConfig } from '../../../shared/hub/hub-config.ts';
import { toHubError, type HubErrorContext } from '../../../shared/hub/to-hub-error.ts';

const ctx: HubErrorContext = { action: 'pull', repo: 'alice/m', revision: 'v2', hubUrl: 'https://hub.example', cacheDir: '/c' };
const api = (status: number, message: string) => new HubApiError('https://hub.example/x', status, undefined, `${message}. URL: https://hub.example/x`);
const kindOf = (err: unknown, c: HubErrorContext = ctx) => (toHubError(err, c) as HubError).kind;

describe('toHubError', () => {
  it('maps Hub answers to kinds by status and message', () => {
    expect(kindOf(api(401, 'Repository not found'))).toBe('auth-missing');
    expect(kindOf(api(401, 'Invalid credentials'), { ...ctx, token: 'hf_abcdefghijkl' })).toBe('auth-rejected');
    expect(kindOf(api(403, 'no rights'), { ...ctx, token: 'hf_abcdefghijkl' })).toBe('auth-rejected');
    expect(kindOf(api(404, 'Repository not found'))).toBe('repo-not-found');
    expect(kindOf(api(404, 'Invalid rev id: v2'))).toBe('revision-not-found');
    expect(kindOf(api(404, 'Entry not found'))).toBe('entry-not-found');
    expect(kindOf(api(500, 'boom'))).toBe('server');
    expect(kindOf(api(429, 'slow down'))).toBe('server');
    expect(kindOf(api(400, 'bad'))).toBe('request-rejected');
  });

  it('maps network and disk errors, and leaves others alone', () => {
    const reset = new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
    expect(kindOf(reset)).toBe('network');
    expect(kindOf(new TypeError('terminated'))).toBe('network');
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const diskErr = toHubError(full, ctx) as HubError;
    expect(diskErr.kind).toBe('disk-full');
    expect(diskErr.message).toMatch(/\/c.*ABQ_CACHE_DIR/);
    const bug = new TypeError('x is not a function');
    expect(toHubError(bug, ctx)).toBe(bug);
  });

  it('messages name the revision, the repo and the fix', () => {
    expect((toHubError(api(404, 'Invalid rev id: v2'), ctx) as HubError).message).toMatch(/'v2'.*alice\/m.*existing branch/);
    expect((toHubError(api(503, 'down'), ctx) as HubError).message).toMatch(/503.*rerunning resumes/);
  });
});

describe('resolveHubConfig', () => {
  it('takes flags first, then HF_ENDPOINT / HF_TOKEN, then huggingface.co', () => {
    expect(resolveHubConfig({ env: {} })).toEqual({ hubUrl: 'https://huggingface.co', accessToken: undefined });
    expect(resolveHubConfig({ env: { HF_ENDPOINT: 'http://127.0.0.1:8080/', HF_TOKEN: 'hf_env' } })).toEqual({ hubUrl: 'http://127.0.0.1:8080', accessToken: 'hf_env' });
    expect(resolveHubConfig({ endpoint: 'https://mirror.example/hub', token: 'hf_flag', env: { HF_TOKEN: 'hf_env' } })).toEqual({ hubUrl: 'https://mirror.example/hub', accessToken: 'hf_flag' });
    expect(resolveHubConfig({ env: { HUGGING_FACE_HUB_TOKEN: 'hf_old' } }).accessToken).toBe('hf_old');
  });

  it('refuses a token without hf_ and a bad endpoint, saying what to use', () => {
    expect(() => resolveHubConfig({ token: 'ghp_123456789', env: {} })).toThrow(/does not start with 'hf_'.*settings\/tokens/);
    expect(() => resolveHubConfig({ endpoint: 'not a url', env: {} })).toThrow(/not a URL: set HF_ENDPOINT/);
    expect(() => resolveHubConfig({ endpoint: 'ftp://x', env: {} })).toThrow(/must be http/);
  });
});

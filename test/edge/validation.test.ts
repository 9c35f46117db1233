/** Auth, rate limits and input validation: every rejection is an OpenAI-shaped error with the right status. */
import { expect, it } from 'vitest';
import { describeWithShared } from '../helpers/shared-data.ts';
import { createEdgeApp } from '../../edge/app.ts';
import { post, scriptedBackend, storiesModel, testConfig, TEST_KEY } from './helpers/fixtures.ts';
import type { EnvRecord } from '../../edge/config.ts';

describeWithShared('edge auth, rate limits and validation', () => {
  const model = storiesModel();
  const appWith = (env: EnvRecord = {}) =>
    createEdgeApp({ config: testConfig(env), models: [model], localBackends: [scriptedBackend({ tokens: [403, 404, 405] })] }).app;
  const ok = { model: 'stories260K', prompt: 'Once', max_tokens: 2 };

  async function expectError(res: Response, status: number, match: { type?: string; code?: string; param?: string | null }) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = await res.json();
    expect(body.error).toMatchObject(match);
    expect(typeof body.error.message).toBe('string');
    return body.error as { message: string };
  }

  it('rejects a missing or wrong API key with 401, accepts the right one', async () => {
    const app = appWith();
    await expectError(await app.request(post('/v1/completions', ok, { authorization: '' })), 401, { type: 'authentication_error', code: 'missing_api_key' });
    await expectError(await app.request(post('/v1/completions', ok, { authorization: 'Bearer sk-wrong-key-000' })), 401, { code: 'invalid_api_key' });
    await expectError(await app.request(post('/v1/completions', ok, { authorization: `Basic ${TEST_KEY}` })), 401, { code: 'missing_api_key' });
    await expectError(await app.request('/v1/models'), 401, { type: 'authentication_error' });
    expect((await app.request(post('/v1/completions', ok))).status).toBe(200);
  });

  it('limits each key to its rate and says when to retry', async () => {
    const app = appWith({ ABQ_RATE_LIMIT_PER_MINUTE: '6', ABQ_RATE_LIMIT_BURST: '2' });
    expect((await app.request(post('/v1/completions', ok))).status).toBe(200);
    expect((await app.request(post('/v1/completions', ok))).status).toBe(200);
    const res = await app.request(post('/v1/completions', ok));
    await expectError(res, 429, { type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('rejects malformed JSON and non-object bodies', async () => {
    const app = appWith();
    const e = await expectError(await app.request(post('/v1/completions', '{"model": "stories260K", ')), 400, { type: 'invalid_request_error', code: 'invalid_json' });
    expect(e.message).toMatch(/not valid JSON/);
    await expectError(await app.request(post('/v1/chat/completions', '[1,2]')), 400, { code: 'invalid_json' });
  });

  it('rejects oversized bodies with 413 and over-long prompts with context_length_exceeded', async () => {
    const app = appWith({ ABQ_MAX_BODY_BYTES: '4096' });
    await expectError(await app.request(post('/v1/completions', { ...ok, prompt: 'a'.repeat(5000) })), 413, { code: 'request_too_large' });
    const big = appWith();
    const e = await expectError(await big.request(post('/v1/completions', { ...ok, prompt: 'Once upon a time '.repeat(200), max_tokens: undefined })), 400, { code: 'context_length_exceeded', param: 'prompt' });
    expect(e.message).toMatch(/context of 512 tokens/);
    await expectError(await big.request(post('/v1/completions', { ...ok, max_tokens: 511 })), 400, { code: 'context_length_exceeded', param: 'max_tokens' });
  });

  it.each([
    [{ temperature: 2.5 }, 'temperature', 'out_of_range'],
    [{ temperature: 'hot' }, 'temperature', 'invalid_type'],
    [{ top_p: 0 }, 'top_p', 'out_of_range'],
    [{ top_p: 1.5 }, 'top_p', 'out_of_range'],
    [{ top_k: -1 }, 'top_k', 'out_of_range'],
    [{ top_k: 2.5 }, 'top_k', 'invalid_type'],
    [{ max_tokens: 0 }, 'max_tokens', 'out_of_range'],
    [{ max_tokens: 10_000_000 }, 'max_tokens', 'out_of_range'],
    [{ seed: 1.5 }, 'seed', 'invalid_type'],
    [{ n: 2 }, 'n', 'unsupported_value'],
    [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', 'out_of_range'],
    [{ stop: [''] }, 'stop', 'out_of_range'],
    [{ stop: 42 }, 'stop', 'invalid_type'],
    [{ stream: 'yes' }, 'stream', 'invalid_type'],
    [{ model: undefined }, 'model', 'missing_required_parameter'],
    [{ prompt: undefined }, 'prompt', 'missing_required_parameter'],
    [{ prompt: ['a', 'b'] }, 'prompt', 'unsupported_value'],
    [{ prompt: [1, 99999] }, 'prompt', 'out_of_range'],
    [{ logprobs: 3 }, 'logprobs', 'unsupported_value'],
  ])('rejects %j with 400 naming %s', async (patch, param, code) => {
    await expectError(await appWith().request(post('/v1/completions', { ...ok, ...patch })), 400, { type: 'invalid_request_error', param, code });
  });

  it('validates chat messages', async () => {
    const app = appWith();
    await expectError(await app.request(post('/v1/chat/completions', { model: 'stories260K', messages: [] })), 400, { param: 'messages' });
    await expectError(await app.request(post('/v1/chat/completions', { model: 'stories260K', messages: [{ role: 'wizard', content: 'x' }] })), 400, { param: 'messages[0].role' });
    await expectError(await app.request(post('/v1/chat/completions', { model: 'stories260K', messages: [{ role: 'user', content: [{ type: 'image_url' }] }] })), 400, { param: 'messages[0].content[0]' });
  });

  it('answers an unknown model with 404 model_not_found and an unknown route with 404', async () => {
    const app = appWith();
    await expectError(await app.request(post('/v1/completions', { ...ok, model: 'gpt-5' })), 404, { type: 'not_found_error', code: 'model_not_found', param: 'model' });
    await expectError(await app.request('/v1/nothing'), 404, { code: 'unknown_route' });
  });

  it('answers 503 with retry-after when no backend can serve', async () => {
    const app = createEdgeApp({ config: testConfig(), models: [model], localBackends: [] }).app;
    const res = await app.request(post('/v1/completions', ok));
    await expectError(res, 503, { type: 'unavailable_error', code: 'no_backend_available' });
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('refuses a heartbeat unless registration is on and the signature is valid', async () => {
    const body = { id: 'n1', url: 'http://127.0.0.1:9', models: ['stories260K'] };
    await expectError(await appWith().request(post('/internal/nodes/heartbeat', body)), 404, { code: 'registration_disabled' });
    const reg = appWith({ ABQ_ALLOW_REGISTRATION: 'true', ABQ_NODE_SECRET: 'test-secret-0123456789-abcdefghijklmnop' });
    await expectError(await reg.request(post('/internal/nodes/heartbeat', body, { 'x-abq-signature': 'v1;exp=1;nonce=abcdefgh;sig=' + 'A'.repeat(43) })), 401, { code: 'bad_signature' });
  });
});

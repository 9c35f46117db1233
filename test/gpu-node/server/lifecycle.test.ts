/**
 * The node server as a process: graceful shutdown drains the streams running and queued, and self-registration
 * with signed heartbeats puts the node into an edge's registry (and out again when heartbeats stop).
 */
import { expect, it } from 'vitest';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';
import { signRequest, SIGNATURE_HEADER } from '../../../shared/auth/index.ts';
import { startNodeProcess } from '../../edge/helpers/node-process.ts';
import { post, storiesModel, testConfig, TEST_SECRET } from '../../edge/helpers/fixtures.ts';
import { createEdgeApp } from '../../../edge/app.ts';

describeWithShared('gpu-node server lifecycle', () => {
  it('drains: SIGTERM lets running and queued streams finish, refuses new work, then exits', async () => {
    const node = await startNodeProcess({ modelDir: STORIES260K_DIR!, args: ['--max-seqs', '1'] });
    const body = JSON.stringify({ model: 'stories260K', tokens: [1], max_tokens: 300, temperature: 0, top_p: 1, top_k: 0 });
    const generate = async () => fetch(`${node.url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: await signRequest({ secret: TEST_SECRET, method: 'POST', path: '/v1/generate', body }) }, body });
    const readAll = async (res: Response) => {
      const reader = res.body!.getReader();
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += new TextDecoder().decode(value);
      }
    };
    const running = await generate(); // headers come with the first token: it is running
    const queued = generate(); // one sequence at a time: this one waits in the queue
    const healthNow = async () => (await fetch(`${node.url}/health`, { headers: { [SIGNATURE_HEADER]: await signRequest({ secret: TEST_SECRET, method: 'GET', path: '/health' }) } })).json();
    while ((await healthNow()).queue_depth < 1) await new Promise((r) => setTimeout(r, 10));
    node.proc.kill('SIGTERM');
    const until = Date.now() + 5000;
    while ((await healthNow()).status !== 'draining' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect((await healthNow()).status).toBe('draining');
    const refused = await generate();
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.code).toBe('draining');
    const done = /event: done\ndata: \{"finish_reason":"(length|stop)"/;
    expect(await readAll(running)).toMatch(done);
    expect(await readAll(await queued)).toMatch(done);
    await node.kill('SIGTERM'); // waits for the exit that the drain triggers
    expect(node.proc.exitCode).toBe(0);
    expect(node.output()).toMatch(/draining 1 active and 1 queued/);
  });

  it('self-registers with signed heartbeats and expires when they stop', async () => {
    const edge = createEdgeApp({ config: testConfig({ ABQ_NODE_SECRET: TEST_SECRET, ABQ_ALLOW_REGISTRATION: 'true', ABQ_HEARTBEAT_TTL_MS: '800', ABQ_RATE_LIMIT_PER_MINUTE: '0' }), models: [storiesModel()] });
    const server = serve({ fetch: edge.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
    await new Promise((r) => server.once('listening', r));
    const edgeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const node = await startNodeProcess({ modelDir: STORIES260K_DIR!, args: ['--register', edgeUrl, '--node-id', 'selfreg', '--heartbeat-ms', '200'] });
    try {
      const until = Date.now() + 10_000;
      while (!edge.runtime.registry.get('selfreg') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const entry = edge.runtime.registry.get('selfreg')!;
      expect(entry).toMatchObject({ source: 'heartbeat', status: 'up', models: ['stories260K'], url: node.url });
      const res = await edge.app.request(post('/v1/completions', { model: 'stories260K', prompt: 'Once', max_tokens: 4 }));
      expect(res.headers.get('x-abq-backend')).toBe('node:selfreg');
      await node.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1200));
      expect(edge.runtime.registry.list().map((n) => n.id)).not.toContain('selfreg');
    } finally {
      await node.kill();
      server.close();
    }
  });
});

/**
 * Every backend through the one conformance suite, plus the oracle check: on the same f32 weights,
 * the WASM engine, a remote node over HTTP and the reference forward produce the same greedy tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { STORIES260K_DIR, SKIP_REASON, REPO_ROOT } from '../helpers/shared-data.ts';
import { runBackendConformance } from './inference-backend.case.ts';
import type { InferenceBackend } from '../../edge/backends/backend.ts';
import { createReferenceBackend } from '../../edge/backends/reference-backend.ts';
import { loadWasmBackend } from '../../edge/backends/wasm-node.ts';
import { RemoteNodeBackend } from '../../edge/backends/remote-node.ts';
import { loadLlamaModel } from '../../shared/model/load.ts';
import { createNodeApp } from '../../gpu-node/server/app.ts';
import { TEST_SECRET } from '../edge/helpers/constants.ts';

const SHIPPED = path.join(REPO_ROOT, 'models', 'stories260K-w4a8');
const servers: Server[] = [];

async function remoteOver(backend: InferenceBackend): Promise<InferenceBackend> {
  const node = createNodeApp({ backend, modelIds: ['stories260K'], secret: TEST_SECRET });
  const server = serve({ fetch: node.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  return new RemoteNodeBackend({ id: 'node:conformance', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, secret: TEST_SECRET, supports: (m) => m === 'stories260K' });
}

afterAll(() => servers.forEach((s) => s.close()));

runBackendConformance({ name: 'wasm, shipped W4A8 packed model', model: 'stories260K', vocabSize: 512, create: () => loadWasmBackend(SHIPPED, 'stories260K') });
runBackendConformance({ name: 'gpu node over HTTP (WASM engine behind it)', model: 'stories260K', vocabSize: 512, create: async () => remoteOver(await loadWasmBackend(SHIPPED, 'stories260K')) });

if (STORIES260K_DIR) {
  runBackendConformance({ name: 'reference f32 (stories260K)', model: 'stories260K', vocabSize: 512, create: async () => createReferenceBackend((await loadLlamaModel(STORIES260K_DIR!)).model, 'stories260K') });
  runBackendConformance({ name: 'wasm f32 (stories260K)', model: 'stories260K', vocabSize: 512, create: () => loadWasmBackend(STORIES260K_DIR!, 'stories260K') });

  describe('backends agree with the reference oracle', () => {
    const greedy = async (b: InferenceBackend) => {
      const out: number[] = [];
      for await (const { token } of b.generate({ model: 'stories260K', tokens: [1, 403, 407, 261, 378], sampling: { temperature: 0, topP: 1, topK: 0 }, maxTokens: 48 })) out.push(token);
      return out;
    };
    let reference: number[];
    beforeAll(async () => {
      reference = await greedy(createReferenceBackend((await loadLlamaModel(STORIES260K_DIR!)).model, 'stories260K'));
    });
    it('wasm (f32 weights) gives the reference greedy tokens', async () => {
      expect(await greedy(await loadWasmBackend(STORIES260K_DIR!, 'stories260K'))).toEqual(reference);
    });
    it('a remote node gives the same greedy tokens as its backend run locally', async () => {
      const local = await loadWasmBackend(STORIES260K_DIR!, 'stories260K');
      expect(await greedy(await remoteOver(local))).toEqual(await greedy(local));
    });
  });
} else {
  describe.skip(`reference and f32 WASM conformance (${SKIP_REASON})`, () => {
    it('needs stories260K', () => undefined);
  });
}

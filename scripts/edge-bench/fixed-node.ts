/**
 * Benchmark-only upstream: the real node server app (signature checks, slots, SSE, metrics) over a
 * backend that emits fixed token ids without running a model. It isolates what the edge adds from
 * model time, which on a 2-core machine would otherwise cap the load far below 1,000 req/s. It is
 * labelled as such in docs/BENCHMARKS.md and is not a serving backend.
 */
import '../../shared/auth/node.ts';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createNodeApp } from '../../gpu-node/server/app.ts';
import { nodeRequestIO } from '../../edge/node-request-io.ts';
import { attachNodeLink } from '../../gpu-node/server/link/link-server.ts';
import type { GenerateRequest, GeneratedToken, InferenceBackend } from '../../edge/backends/backend.ts';

const FIXED_TOKENS = [403, 407, 261, 378]; // " upon a time" pieces of the stories260K vocabulary

const fixed: InferenceBackend = {
  id: 'bench-fixed-tokens',
  kind: 'gpu',
  supports: (model) => model === 'stories260K',
  async *generate(req: GenerateRequest): AsyncGenerator<GeneratedToken> {
    for (let i = 0; i < req.maxTokens; i++) yield { token: FIXED_TOKENS[i % FIXED_TOKENS.length] };
  },
};

const secret = process.env.ABQ_NODE_SECRET!;
const node = createNodeApp({ backend: fixed, modelIds: ['stories260K'], secret, slots: 1024, maxQueue: 4096, requestIO: nodeRequestIO });
const server = serve({ fetch: node.app.fetch, hostname: '127.0.0.1', port: 0 }) as Server;
attachNodeLink(server, { secret, backend: node.backend, modelIds: ['stories260K'], metrics: node.metrics });
server.once('listening', () => console.log(`abq-node listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`));

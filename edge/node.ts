/**
 * @module
 * The edge on Node (@hono/node-server). `npm start` runs this file: it serves the packed model in
 * models/ on the WASM engine and routes to GPU nodes when ABQ_NODES lists some.
 *
 *     ABQ_PORT=8787 ABQ_HOST=127.0.0.1 npm start
 *
 * Configuration is the same set of variables as the Worker's wrangler vars (edge/config.ts).
 */
import '../shared/auth/node.ts'; // node:crypto HMAC for request signing (much cheaper than WebCrypto on Node)
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createEdgeApp, type EdgeApp } from './app.ts';
import { parseEdgeConfig, type EnvRecord } from './config.ts';
import { loadEdgeModel, parseModelDirs } from './node-models.ts';
import type { InferenceBackend } from './backends/backend.ts';
import { createNodeHttpFetch } from './node-fetch.ts';
import { nodeRequestIO } from './node-request-io.ts';
import { isEventStream } from './lib/event-stream.ts';
import { signRequestNode } from './node-sign.ts';
import { createNodeLinks } from './link/node-links.ts';

export const DEFAULT_PORT = 8787;

export interface StartedEdge {
  url: string;
  edge: EdgeApp;
  server: Server;
  close(): Promise<void>;
}

/**
 * Marks SSE responses as chunked for @hono/node-server: without it, the adapter tries to read the
 * first chunks to compute a content-length and waits on a timer when they are not ready yet, which
 * delays the first streamed token by a timer tick (milliseconds on a loaded machine). Other
 * responses are left untouched (see edge/lib/event-stream.ts for why their headers are not read).
 */
function withChunkedStreams(fetchFn: (req: Request, env?: unknown) => Response | Promise<Response>) {
  // A .then on Hono's promise, not an async wrapper: one promise less per request.
  return (req: Request, env?: unknown): Response | Promise<Response> => {
    const res = fetchFn(req, env);
    return res instanceof Promise ? res.then(markChunked) : markChunked(res);
  };
}

function markChunked(res: Response): Response {
  if (isEventStream(res)) res.headers.set('transfer-encoding', 'chunked');
  return res;
}

/** Starts the edge on Node; env defaults to process.env. */
export async function startEdgeServer(env: EnvRecord = process.env, opts: { port?: number; host?: string } = {}): Promise<StartedEdge> {
  const config = parseEdgeConfig(env);
  const wasmFallback = env.ABQ_WASM_FALLBACK !== 'false';
  const loaded = await Promise.all(parseModelDirs(env.ABQ_MODEL_DIRS as string | undefined).map((s) => loadEdgeModel(s, { wasmFallback })));
  const nodeFetch = createNodeHttpFetch();
  // Nodes that offer the link get one authenticated connection for all generations (edge/link/).
  const link = config.nodeLink && config.nodeSecret ? createNodeLinks(config.nodeSecret) : undefined;
  const edge = createEdgeApp({
    config,
    fetch: nodeFetch,
    sign: signRequestNode,
    link,
    models: loaded.map((l) => l.served),
    localBackends: loaded.map((l) => l.wasm).filter((b): b is InferenceBackend => !!b),
    healthChecks: 'timer',
    requestIO: nodeRequestIO,
  });
  // Know which nodes are up (and which models they serve) before taking the first request.
  await edge.runtime.health?.checkAll();
  const host = opts.host ?? (env.ABQ_HOST as string | undefined) ?? '127.0.0.1';
  const port = opts.port ?? Number(env.ABQ_PORT ?? DEFAULT_PORT);
  const server = serve({ fetch: withChunkedStreams(edge.app.fetch), hostname: host, port }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    edge,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        edge.close();
        nodeFetch.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function main(): Promise<void> {
  const started = await startEdgeServer();
  const { runtime } = started.edge;
  if (runtime.config.apiKeys.length === 0) console.warn('abq-edge: warning: ABQ_API_KEYS is not set, so the API is open to anyone who can reach this address');
  console.log(`abq-edge: models ${[...runtime.models.keys()].join(', ')}; WASM fallback: ${runtime.localBackends.map((b) => b.id).join(', ') || 'none'}; GPU nodes: ${runtime.registry.list().length}`);
  console.log(`abq-edge listening on ${started.url}  (playground: ${started.url}/)`);
  const stop = () => void started.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: Error) => {
    console.error(`abq-edge: ${e.message}`);
    process.exitCode = 1;
  });
}

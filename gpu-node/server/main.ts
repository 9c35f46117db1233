/**
 * Starts a GPU node server:
 *
 *     ABQ_NODE_SECRET=... tsx gpu-node/server/main.ts --backend wasm --model models/stories260K-w4a8 --port 8081
 *
 * Prints `abq-node listening on http://HOST:PORT` once ready (port 0 picks a free one). SIGTERM/SIGINT
 * drain: /health turns to `draining`, new requests get 503, running and queued streams finish (up to
 * --drain-timeout-ms), then the server and the engine close and the process exits.
 *
 * Every backend runs behind the continuous-batching scheduler (gpu-node/engine/scheduler.ts);
 * --kv-blocks, --block-size, --max-batch-tokens and --max-seqs size its engine (unset: the engine's
 * defaults), --max-queue bounds the requests waiting for admission.
 */
import '../../shared/auth/node.ts'; // node:crypto HMAC for signature checks (much cheaper than WebCrypto on Node)
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createNodeApp } from './app.ts';
import { DEFAULT_MAX_QUEUE } from '../engine/scheduler.ts';
import { nodeRequestIO } from '../../edge/node-request-io.ts';
import { BACKEND_NAMES, loadBackend, type BackendName, type EngineLoadOptions } from './load-backend.ts';
import { startHeartbeat } from './heartbeat.ts';
import { attachNodeLink } from './link/link-server.ts';
import { MIN_SECRET_LENGTH } from '../../shared/auth/index.ts';
import { resolveModelRef } from '../../shared/hub/resolve-model-ref.ts';

const USAGE = `usage: gpu-node/server/main.ts --backend wasm|reference|cuda --model <dir|hf://user/repo[@rev]> [--model-id ID] [--host 127.0.0.1] [--port 8081]
  [--kv-blocks N] [--block-size N] [--max-batch-tokens N] [--max-seqs N] [--max-queue ${DEFAULT_MAX_QUEUE}]
  [--drain-timeout-ms 30000] [--metrics-public] [--disable-link]
  [--register <edge-url> --public-url <this node's url> --node-id ID --heartbeat-ms 3000]
  The shared secret comes from ABQ_NODE_SECRET (at least ${MIN_SECRET_LENGTH} characters).`;

/** After the drain, how long responses still writing may take to deliver their last bytes. */
const CLOSE_GRACE_MS = 10_000;

/** A flag's positive integer value (undefined when unset); the error names the flag. */
function positiveIntFlag(v: string | undefined, flag: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} ${v} must be an integer >= ${min}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      model: { type: 'string' },
      'model-id': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8081' },
      'kv-blocks': { type: 'string' },
      'block-size': { type: 'string' },
      'max-batch-tokens': { type: 'string' },
      'max-seqs': { type: 'string' },
      'max-queue': { type: 'string', default: String(DEFAULT_MAX_QUEUE) },
      'drain-timeout-ms': { type: 'string', default: '30000' },
      'metrics-public': { type: 'boolean', default: false },
      'disable-link': { type: 'boolean', default: false },
      register: { type: 'string' },
      'public-url': { type: 'string' },
      'node-id': { type: 'string' },
      'heartbeat-ms': { type: 'string', default: '3000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return void console.log(USAGE);
  const backendName = values.backend as BackendName;
  if (!BACKEND_NAMES.includes(backendName)) throw new Error(`--backend ${values.backend} is not one of ${BACKEND_NAMES.join(', ')}\n${USAGE}`);
  if (!values.model) throw new Error(`--model <dir> is required\n${USAGE}`);
  const secret = process.env.ABQ_NODE_SECRET;
  if (!secret || secret.length < MIN_SECRET_LENGTH) throw new Error(`ABQ_NODE_SECRET must be set to the edge's shared secret (at least ${MIN_SECRET_LENGTH} characters)`);

  // A folder, or hf://user/repo[@rev] pulled into the local cache (HF_TOKEN / HF_ENDPOINT honoured).
  const modelDir = await resolveModelRef(values.model);
  const sizes: EngineLoadOptions = {
    numBlocks: positiveIntFlag(values['kv-blocks'], '--kv-blocks'),
    blockSize: positiveIntFlag(values['block-size'], '--block-size'),
    maxBatchTokens: positiveIntFlag(values['max-batch-tokens'], '--max-batch-tokens'),
    maxSeqs: positiveIntFlag(values['max-seqs'], '--max-seqs'),
    maxQueue: positiveIntFlag(values['max-queue'], '--max-queue', 0),
  };
  const { backend, modelIds } = await loadBackend(backendName, modelDir, values['model-id'], sizes);
  const node = createNodeApp({ backend, modelIds, secret, metricsPublic: values['metrics-public'], requestIO: nodeRequestIO });
  const { info } = backend;
  const server = serve({ fetch: node.app.fetch, hostname: values.host, port: Number(values.port) }) as Server;
  // The edge's persistent link on the same port (HTTP Upgrade); --disable-link leaves HTTP only.
  const link = values['disable-link'] ? undefined : attachNodeLink(server, { secret, backend: node.backend, modelIds, metrics: node.metrics });
  // Responses not yet fully written: shutdown waits for them (the scheduler's drain ends when the
  // last token is generated, which can be before the last SSE bytes have left).
  let openResponses = 0;
  let onNoResponses: (() => void) | undefined;
  server.on('request', (_req, res) => {
    openResponses++;
    res.once('close', () => {
      if (--openResponses === 0) onNoResponses?.();
    });
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${values.host}:${port}`;
  console.log(`abq-node listening on ${url} (backend ${backend.id}, models ${modelIds.join(', ')}; ${info.numBlocks} KV blocks of ${info.blockSize}, max ${info.maxSeqs} sequences, ${info.maxBatchTokens} tokens per step)`);

  const stopHeartbeat = values.register
    ? startHeartbeat({ edgeUrl: values.register, nodeId: values['node-id'] ?? `node-${port}`, publicUrl: values['public-url'] ?? url, secret, intervalMs: Number(values['heartbeat-ms']), health: node.health })
    : () => undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const s = backend.stats();
    console.log(`abq-node: ${signal}: draining ${s.running} active and ${s.queued} queued streams`);
    const timeout = Number(values['drain-timeout-ms']);
    const drained = await Promise.race([backend.drain().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeout).unref())]);
    stopHeartbeat();
    if (!drained) console.error(`abq-node: drain timed out after ${timeout} ms; closing anyway`);
    // Let the streams' last events flush, then close every socket (idle keep-alives too) and free the engine.
    server.close();
    const httpDone = new Promise<void>((resolve) => {
      if (openResponses === 0) return resolve();
      onNoResponses = resolve;
      setTimeout(resolve, CLOSE_GRACE_MS).unref();
    });
    await Promise.all([httpDone, link?.close(CLOSE_GRACE_MS)]);
    server.closeAllConnections();
    await backend.close().catch((e: Error) => console.error(`abq-node: closing the engine failed: ${e.message}`));
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: Error) => {
  console.error(`abq-node: ${e.message}`);
  process.exitCode = 1;
});

/**
 * @module
 * A local Hugging Face Hub for tests, on 127.0.0.1: the endpoints @huggingface/hub 2.x calls for
 * createRepo, createBranch, modelInfo, uploadFiles (preupload, LFS batch + basic PUT, NDJSON commit),
 * listFiles (tree) and downloadFile (resolve with Range / If-Range / ETag), stored on disk in a temp dir,
 * with token-based access rules (auth.ts) and failure injection (faults.ts).
 *
 * Written on node:http rather than Hono because the faults need the raw socket (cut a connection after N
 * bytes of a request or response body), and streaming bodies straight to and from disk.
 *
 * @example
 * const hub = await startHubServer({ tokens: { hf_writer: { user: 'alice', role: 'write' } } });
 * await pushModel({ dir, repo: 'alice/tiny', hubUrl: hub.url, token: 'hf_writer' });
 * hub.faults.add({ method: 'GET', path: '/resolve/', action: { kind: 'status', status: 503 }, times: 2 });
 * await hub.stop();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { authenticate, type TokenTable } from './auth.ts';
import type { Call, Handler, ServerContext } from './context.ts';
import { FaultInjector } from './faults.ts';
import { HttpError, sendError, sendJson } from './http-util.ts';
import { createBranch, createRepo, modelInfo } from './routes-repo.ts';
import { commit, lfsBatch, lfsUpload, preupload } from './routes-upload.ts';
import { listTree, resolveFile } from './routes-download.ts';
import { HubStore } from './store.ts';

export type { TokenTable, TokenGrant } from './auth.ts';
export type { FaultRule, FaultAction } from './faults.ts';

/** The Hub's own LFS threshold for files that .gitattributes does not name. */
const DEFAULT_LFS_THRESHOLD_BYTES = 10 * 1024 * 1024;
const DEFAULT_TREE_PAGE_SIZE = 1000;

const REPO = '([^/]+/[^/]+)';
const SEG = '([^/]+)';

/** The whole route table, in one place (method, pattern over the path without query, handler). */
const ROUTES: [string, RegExp, Handler][] = [
  ['POST', /^\/api\/repos\/create$/, createRepo],
  ['GET', new RegExp(`^/api/models/${REPO}/revision/${SEG}$`), modelInfo],
  ['GET', new RegExp(`^/api/models/${REPO}$`), modelInfo],
  ['POST', new RegExp(`^/api/models/${REPO}/branch/${SEG}$`), createBranch],
  ['POST', new RegExp(`^/api/models/${REPO}/preupload/${SEG}$`), preupload],
  ['POST', new RegExp(`^/api/models/${REPO}/commit/${SEG}$`), commit],
  ['GET', new RegExp(`^/api/models/${REPO}/tree/${SEG}(?:/(.*))?$`), listTree],
  ['POST', new RegExp(`^/${REPO}\\.git/info/lfs/objects/batch$`), lfsBatch],
  ['PUT', /^\/lfs-upload\/([0-9a-f]+)$/, lfsUpload],
  ['GET', new RegExp(`^/${REPO}/resolve/${SEG}/(.+)$`), resolveFile],
];

export interface HubServerOptions {
  /** Accepted tokens and what they may do. Tokens must start with "hf_" (the client refuses others). */
  tokens?: TokenTable;
  lfsThresholdBytes?: number;
  treePageSize?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  range?: string;
  ifRange?: string;
}

export interface HubServer {
  /** http://127.0.0.1:<port>: pass it as hubUrl / HF_ENDPOINT. */
  url: string;
  store: HubStore;
  faults: FaultInjector;
  /** Every request served, in order, for assertions (for example the Range of a resumed download). */
  requests: LoggedRequest[];
  stop(): Promise<void>;
}

export async function startHubServer(options: HubServerOptions = {}): Promise<HubServer> {
  const root = await mkdtemp(path.join(tmpdir(), 'abq-hub-server-'));
  const store = new HubStore(root);
  await store.init();
  const faults = new FaultInjector();
  const requests: LoggedRequest[] = [];
  const ctx: ServerContext = {
    store,
    tokens: options.tokens ?? {},
    baseUrl: '',
    lfsThresholdBytes: options.lfsThresholdBytes ?? DEFAULT_LFS_THRESHOLD_BYTES,
    treePageSize: options.treePageSize ?? DEFAULT_TREE_PAGE_SIZE,
    uploadTickets: new Map(),
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.on('close', () =>
      requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, status: res.statusCode, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined }),
    );
    handle(ctx, faults, req, res, url).catch((err: unknown) => {
      if (res.headersSent) {
        res.socket?.destroy();
        return;
      }
      if (err instanceof HttpError) sendError(res, err);
      else sendJson(res, 500, { error: `test hub server failed: ${(err as Error).message}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ctx.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: ctx.baseUrl,
    store,
    faults,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function handle(ctx: ServerContext, faults: FaultInjector, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  const fault = faults.take(method, url.pathname + url.search, req.headers);
  if (fault?.kind === 'status') {
    // Drain the body without keeping it, so the client sees the status rather than a reset.
    for await (const _chunk of req as AsyncIterable<Buffer>) void _chunk;
    const headers: Record<string, string> = fault.errorCode ? { 'X-Error-Code': fault.errorCode } : {};
    sendJson(res, fault.status, { error: fault.message ?? `injected failure ${fault.status}` }, headers);
    return;
  }
  for (const [routeMethod, pattern, handler] of ROUTES) {
    const m = routeMethod === method ? pattern.exec(url.pathname) : null;
    if (!m) continue;
    const params = m.slice(1).map((p) => (p === undefined ? p : decodeURIComponent(p))) as string[];
    const grant = authenticate(req, ctx.tokens);
    const call: Call = { ctx, req, res, params, query: url.searchParams, grant, fault };
    await handler(call);
    return;
  }
  throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`);
}

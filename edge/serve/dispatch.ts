/**
 * Sends one generation to a backend and waits for its first token. GPU nodes come first, ranked by
 * routing/select-node.ts; a node that fails before its first token (unreachable, HTTP error, stream
 * cut, first-token timeout) counts against its circuit breaker and the next node is tried, up to
 * `maxRetries` retries. When no node can serve, a local backend (the WASM engine) that supports the
 * model runs it. Once a token has arrived the choice is final: a later failure is the caller's to
 * report (an SSE error event), because tokens already sent cannot be taken back.
 */
import { ApiError } from '../errors.ts';
import type { GenerateRequest, GeneratedToken, InferenceBackend } from '../backends/backend.ts';
import { NodeError } from '../backends/remote-node.ts';
import type { NodeEntry, NodeRegistry } from '../routing/registry.ts';
import { rankNodes } from '../routing/select-node.ts';
import type { EdgeMetrics } from '../metrics.ts';

export type ServedPath = 'gpu' | 'wasm' | 'reference';

export interface Dispatched {
  backendId: string;
  path: ServedPath;
  /** The first token, or undefined when the backend finished without producing one. */
  first: GeneratedToken | undefined;
  rest: AsyncIterator<GeneratedToken>;
  retries: number;
  /** Call exactly once when the stream ends: false when it broke mid-stream. */
  release(ok: boolean): void;
  /** Stops the backend (client went away, or a stop string matched). */
  abort(): void;
}

/**
 * A generation to dispatch: the backend request without its signal (each attempt gets its own), and
 * how to learn that the client went away, which aborts the attempt in flight (RequestIO.onClientGone).
 */
export interface DispatchRequest extends Omit<GenerateRequest, 'signal'> {
  onClientGone?(abort: (reason: Error) => void): void;
}

export interface DispatchDeps {
  registry: NodeRegistry;
  localBackends: InferenceBackend[];
  maxRetries: number;
  firstTokenTimeoutMs: number;
  metrics: EdgeMetrics;
}

type Attempt = { ok: true; first: GeneratedToken | undefined; it: AsyncIterator<GeneratedToken> } | { ok: false; error: unknown };

async function firstToken(backend: InferenceBackend, req: DispatchRequest, controller: AbortController, timeoutMs: number): Promise<Attempt> {
  const { model, tokens, sampling, maxTokens, stop, logprobs, wholeAnswer } = req;
  const it = backend.generate({ model, tokens, sampling, maxTokens, stop, logprobs, wholeAnswer, signal: controller.signal })[Symbol.asyncIterator]();
  try {
    // One promise settled by whichever comes first, the first token or the timeout (a Promise.race
    // of two would allocate a timeout promise, the race's and its reactions on every attempt).
    const r = await new Promise<IteratorResult<GeneratedToken>>((resolve, reject) => {
      const timer = setTimeout(() => {
        controller.abort();
        reject(new NodeError(`${backend.id} sent no token within ${timeoutMs} ms`, backend.id, true));
      }, timeoutMs);
      it.next().then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
    return { ok: true, first: r.done ? undefined : r.value, it };
  } catch (error) {
    void it.return?.()?.catch(() => undefined);
    return { ok: false, error };
  }
}

/** Status codes from a node that mean "this request is bad", not "this node is bad": no retry. */
const CLIENT_FAULT = new Set([400, 404, 413, 422]);

export async function dispatch(deps: DispatchDeps, req: DispatchRequest): Promise<Dispatched> {
  const tried = new Set<string>();
  let retries = 0;
  let lastError: unknown;
  // One client-gone hook per request, aborting whichever attempt is in flight (none after the last).
  let inFlight: AbortController | undefined;
  let gone: Error | undefined;
  req.onClientGone?.((reason) => {
    gone = reason;
    inFlight?.abort(reason);
  });
  for (let attempt = 0; attempt <= deps.maxRetries; attempt++) {
    if (gone) throw gone;
    const node = rankNodes(deps.registry.list(), req.model, tried).find((n) => n.breaker.acquire());
    if (!node) break;
    tried.add(node.id);
    if (attempt > 0) {
      retries++;
      deps.metrics.retries.inc({ model: req.model });
    }
    const controller = (inFlight = new AbortController());
    node.outstanding++;
    const r = await firstToken(node.backend, req, controller, deps.firstTokenTimeoutMs);
    if (r.ok) return dispatched(node, r.first, r.it, controller, retries, deps);
    node.outstanding--;
    if (gone) throw r.error;
    lastError = r.error;
    const status = r.error instanceof NodeError ? r.error.status : undefined;
    if (status !== undefined && CLIENT_FAULT.has(status)) {
      node.breaker.onSuccess();
      throw new ApiError(`the node rejected the request: ${(r.error as Error).message}`, { type: 'invalid_request_error', code: 'node_rejected' });
    }
    if (status === 503) node.breaker.onSuccess(); // busy or draining: healthy, just full
    else {
      node.breaker.onFailure();
      if (status === undefined) node.status = 'down'; // unreachable: avoid it until a health check says otherwise
    }
    deps.metrics.nodeFailures.inc({ node: node.id, phase: 'before_first_token' });
  }
  const local = deps.localBackends.find((b) => b.supports(req.model));
  if (local) {
    if (gone) throw gone;
    const controller = (inFlight = new AbortController());
    const r = await firstToken(local, req, controller, deps.firstTokenTimeoutMs);
    if (!r.ok) throw r.error;
    return {
      backendId: local.id,
      path: local.kind === 'gpu' ? 'gpu' : local.kind,
      first: r.first,
      rest: r.it,
      retries,
      release() {},
      abort() {
        controller.abort();
      },
    };
  }
  const why = lastError ? ` (last error: ${(lastError as Error).message})` : '';
  throw new ApiError(
    `no healthy GPU node can serve model '${req.model}' and it is not available on the edge's WASM fallback${why}; retry later`,
    { type: 'unavailable_error', code: 'no_backend_available', headers: { 'retry-after': '1' } },
  );
}

function dispatched(node: NodeEntry, first: GeneratedToken | undefined, it: AsyncIterator<GeneratedToken>, controller: AbortController, retries: number, deps: DispatchDeps): Dispatched {
  let released = false;
  return {
    backendId: node.backend.id,
    path: 'gpu',
    first,
    rest: it,
    retries,
    release(ok) {
      if (released) return;
      released = true;
      node.outstanding--;
      if (ok) node.breaker.onSuccess();
      else {
        node.breaker.onFailure();
        node.status = 'down';
        deps.metrics.nodeFailures.inc({ node: node.id, phase: 'mid_stream' });
      }
    },
    abort() {
      controller.abort();
    },
  };
}

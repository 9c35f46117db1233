/**
 * @module
 * The edge on Cloudflare Workers (workerd): the Worker entry (see worker-edge.ts for how models
 * and kernels are bound, and wrangler.toml). A Worker module may export only handlers.
 */
import { buildWorkerEdge, type WorkerEnv } from './worker-edge.ts';
import type { EdgeApp } from './app.ts';
import { ApiError } from './errors.ts';

/** Bindings are fixed for an isolate's life, so one app per isolate. */
let cached: { edge: Promise<EdgeApp> } | undefined;

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: unknown): Promise<Response> {
    cached ??= { edge: buildWorkerEdge(env) };
    let edge: EdgeApp;
    try {
      edge = await cached.edge;
    } catch (e) {
      cached = undefined; // retry the load on the next request
      if (e instanceof ApiError) return e.getResponse();
      return new ApiError(`edge failed to start: ${(e as Error).message}`, { type: 'server_error', code: 'startup_failed' }).getResponse();
    }
    return edge.app.fetch(request, env, ctx as never);
  },
};

/**
 * Serves a plain InferenceBackend (one that runs each request on its own: test doubles, the edge
 * benchmark's fixed-token upstream, an in-process LocalModelBackend) behind the node app, which
 * otherwise expects a ScheduledBackend. Without a scheduler there are no KV blocks to count, so
 * admission is a simple gate: `slots` streams at once, up to `maxQueue` waiting in FIFO order,
 * refusals as SchedulerRefusal (503) like the scheduler's. Real serving backends (wasm, reference,
 * cuda from load-backend.ts) are scheduled and do not come through here.
 */
import type { GenerateRequest, GeneratedToken, InferenceBackend } from '../../edge/backends/backend.ts';
import type { EngineInfo, SchedulerStats } from '../engine/batch-engine.ts';
import { DEFAULT_MAX_QUEUE, SchedulerRefusal, type ScheduledBackend } from '../engine/scheduler.ts';

export const DEFAULT_SLOTS = 4;

/** What the node app serves: a ScheduledBackend, or a gated plain backend (no engine info). */
export type ServedBackend = Omit<ScheduledBackend, 'info'> & { readonly info?: EngineInfo };

export function isScheduled(b: InferenceBackend): b is ScheduledBackend {
  const s = b as Partial<ScheduledBackend>;
  return typeof s.stats === 'function' && typeof s.drain === 'function' && s.info !== undefined;
}

export function slotGatedBackend(backend: InferenceBackend, slots = DEFAULT_SLOTS, maxQueue = DEFAULT_MAX_QUEUE): ServedBackend {
  let active = 0;
  const waiting: (() => void)[] = [];
  let draining = false;
  let drainWaiters: (() => void)[] = [];
  const settle = () => {
    if (!draining || active > 0 || waiting.length > 0) return;
    for (const w of drainWaiters) w();
    drainWaiters = [];
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next(); // the slot passes straight to the next request
    else active--;
    settle();
  };
  /** True once a slot is held; false when the client left while queued. */
  const acquire = async (signal?: AbortSignal): Promise<boolean> => {
    if (draining) throw new SchedulerRefusal('draining', 'node is draining for shutdown');
    if (active < slots) {
      active++;
      return true;
    }
    if (waiting.length >= maxQueue) throw new SchedulerRefusal('queue_full', `queue full (${waiting.length} waiting, max ${maxQueue})`);
    return new Promise<boolean>((resolve) => {
      const entry = () => resolve(true);
      waiting.push(entry);
      signal?.addEventListener('abort', () => {
        const i = waiting.indexOf(entry);
        if (i < 0) return;
        waiting.splice(i, 1);
        resolve(false);
        settle();
      }, { once: true });
    });
  };

  return {
    id: backend.id,
    kind: backend.kind,
    supports: (model) => backend.supports(model),
    async *generate(req: GenerateRequest): AsyncGenerator<GeneratedToken> {
      if (!(await acquire(req.signal))) return;
      try {
        yield* backend.generate(req);
      } finally {
        release();
      }
    },
    stats: (): SchedulerStats => ({ running: active, queued: waiting.length, freeBlocks: 0, totalBlocks: 0, preemptions: 0, draining }),
    drain() {
      draining = true;
      return new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        settle();
      });
    },
    onStep: () => () => undefined,
    close: async () => undefined,
  };
}

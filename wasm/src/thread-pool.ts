/**
 * Kernel calls split over worker threads sharing the engine's WebAssembly.Memory (Node only; the
 * engine reaches it through the ParallelRunner interface, so its runtime-free part never imports
 * node: modules). Synchronous: the calling thread runs the first share itself, then waits on
 * Atomics for the workers (Atomics.wait is allowed on Node's main thread).
 */
import { Worker } from 'node:worker_threads';
import type { ParallelRunner, ParallelTask } from './parallel.ts';
import { PARALLEL_KERNELS } from './parallel.ts';

const SLOT_BASE = 4;
const SLOT_INTS = 24;
const MAX_ARGS = SLOT_INTS - 2;
/**
 * Polls of the control word before a thread sleeps in Atomics.wait (here and in kernel-worker.mjs): a
 * decode step makes ~100 short kernel calls, and waking a sleeping thread costs tens of microseconds
 * each, which made 2-thread decode slower than 1 thread (docs/BENCHMARKS.md). ABQ_WASM_SPIN overrides it
 * (0: sleep at once).
 */
const DEFAULT_SPIN = 20_000;
export function spinPolls(): number {
  const env = typeof process !== 'undefined' ? process.env.ABQ_WASM_SPIN : undefined;
  const v = env === undefined ? DEFAULT_SPIN : Number(env);
  return Number.isInteger(v) && v >= 0 ? v : DEFAULT_SPIN;
}

export class ThreadPool implements ParallelRunner {
  private seq = 0;
  private closed = false;

  private constructor(readonly threads: number, private readonly workers: Worker[], private readonly ctrl: Int32Array,
    private readonly local: Record<string, (...a: number[]) => unknown>, private readonly spin: number) {}

  /** Starts threads - 1 workers over `memory` (shared) with the shared-memory kernel build. */
  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number,
    local: Record<string, (...a: number[]) => unknown>): Promise<ThreadPool> {
    if (!(memory.buffer instanceof SharedArrayBuffer)) throw new Error('ThreadPool needs a shared WebAssembly.Memory');
    const control = new SharedArrayBuffer((SLOT_BASE + SLOT_INTS * threads) * 4);
    const workers: Worker[] = [];
    for (let i = 0; i < threads - 1; i++) {
      const w = new Worker(new URL('./kernel-worker.mjs', import.meta.url), {
        workerData: { module, memory, control, index: i, kernelNames: PARALLEL_KERNELS, spin: spinPolls() },
      });
      workers.push(w);
    }
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => { w.once('online', () => resolve()); w.once('error', reject); })));
    // Idle workers must not keep the process alive when an engine is dropped without close().
    // (Unref only now: while starting, they are what keeps the event loop running.)
    for (const w of workers) w.unref();
    return new ThreadPool(threads, workers, new Int32Array(control), local, spinPolls());
  }

  run(tasks: ParallelTask[]): void {
    if (this.closed) throw new Error('the thread pool was closed');
    if (tasks.length > this.threads) throw new RangeError(`${tasks.length} tasks for ${this.threads} threads`);
    const c = this.ctrl;
    for (let w = 0; w < this.workers.length; w++) {
      const slot = SLOT_BASE + w * SLOT_INTS;
      const t = tasks[w + 1];
      if (!t) { c[slot] = -1; continue; }
      if (t.args.length > MAX_ARGS) throw new RangeError(`kernel ${t.kernel} has ${t.args.length} arguments, the pool passes ${MAX_ARGS}`);
      c[slot] = PARALLEL_KERNELS.indexOf(t.kernel);
      c[slot + 1] = t.args.length;
      for (let i = 0; i < t.args.length; i++) c[slot + 2 + i] = t.args[i];
    }
    Atomics.store(c, 1, 0);
    this.seq = (this.seq + 1) & 0x3fffffff;
    Atomics.store(c, 0, this.seq);
    Atomics.notify(c, 0);
    if (tasks[0]) this.local[tasks[0].kernel](...tasks[0].args);
    const want = this.workers.length;
    for (let i = 0; i < this.spin && Atomics.load(c, 1) < want; i++);
    for (let done = Atomics.load(c, 1); done < want; done = Atomics.load(c, 1)) Atomics.wait(c, 1, done);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, 0, -1);
    Atomics.notify(this.ctrl, 0);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

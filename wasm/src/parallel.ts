/**
 * How the engine spreads one kernel call over threads, without knowing how threads are made:
 * thread-pool.ts implements it with Node worker_threads; without one, everything runs on the
 * calling thread. Only kernels whose output rows are independent are split.
 */
/** The kernels a runner can split; streamRead only for the benchmark's multi-thread bandwidth. */
export const PARALLEL_KERNELS = ['bitGemm', 'codeGemm', 'lutGemm', 'lutPairsGemm', 'streamRead', 'matmulF32'] as const;
export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];

export interface ParallelTask {
  kernel: ParallelKernel;
  args: number[];
}

export interface ParallelRunner {
  readonly threads: number;
  /** Runs the tasks, one per thread (the first on the calling thread), and returns when all are done. */
  run(tasks: ParallelTask[]): void;
  close(): Promise<void>;
}

/** Splits `count` units into at most `parts` contiguous ranges of whole `unit`-multiples. */
export function splitRange(count: number, parts: number): [number, number][] {
  const ranges: [number, number][] = [];
  const per = Math.ceil(count / parts);
  for (let s = 0; s < count; s += per) ranges.push([s, Math.min(count, s + per)]);
  return ranges;
}

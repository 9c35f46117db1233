/** Timing helpers for the WASM benchmarks: repeat until a sample is long enough, report the median. */
import { median } from '../../scripts/lib/bench-doc.ts';

/** A sample lasts at least this long, so timer resolution and call overhead do not matter. */
export const MIN_SAMPLE_MS = 25;
export const SAMPLES = 5;

/** Median milliseconds per call of fn. */
export function timeMs(fn: () => void, samples = SAMPLES): number {
  fn(); // warm-up (JIT tier-up of the wasm function, caches)
  let iters = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= MIN_SAMPLE_MS || iters >= 1 << 20) break;
    iters = Math.min(1 << 20, Math.max(iters * 2, Math.ceil((iters * MIN_SAMPLE_MS) / Math.max(dt, 0.01))));
  }
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) fn();
    times.push((performance.now() - t0) / iters);
  }
  return median(times);
}

// Worker thread of the Node thread pool (thread-pool.ts): instantiates the shared-memory kernel
// build over the engine's memory and runs kernel calls posted through a SharedArrayBuffer.
// Plain JavaScript so that Node loads it without a TypeScript loader.
//
// Control block (Int32Array): [0] sequence number of the current job (-1: exit), [1] finished count,
// then per worker w, at SLOT_BASE + w * SLOT_INTS: [kernel index, arg0, arg1, ...]; kernel index -1 = idle.
import { workerData } from 'node:worker_threads';

const SLOT_BASE = 4;
const SLOT_INTS = 24;
const { module, memory, control, index, kernelNames, spin = 0 } = workerData;
const instance = await WebAssembly.instantiate(module, { env: { memory } });
const kernels = kernelNames.map((name) => instance.exports[name]);
const ctrl = new Int32Array(control);
const slot = SLOT_BASE + index * SLOT_INTS;
let seen = 0;
for (;;) {
  // Poll a while before sleeping: the next call of a decode step usually comes within microseconds.
  for (let i = 0; i < spin && Atomics.load(ctrl, 0) === seen; i++);
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  if (seen < 0) break;
  const kernel = ctrl[slot];
  if (kernel >= 0) {
    const argc = ctrl[slot + 1];
    const args = Array.from(ctrl.subarray(slot + 2, slot + 2 + argc));
    kernels[kernel](...args);
  }
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}

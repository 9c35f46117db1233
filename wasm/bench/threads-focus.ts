/**
 * Whole-model decode and prefill on 1 and 2 threads, and on 2 threads with the pool's polling off
 * (ABQ_WASM_SPIN=0: every kernel call wakes a sleeping worker), all in one process: the measurement
 * behind the thread pool's spin (thread-pool.ts). Prints a table; writes nothing.
 *
 *   npx tsx wasm/bench/threads-focus.ts [--threads 2]
 */
import { SYNTH_SHAPES } from '../../shared/model/synth-shapes.ts';
import { loadKernelModule, threadedEngineOptions } from '../src/node.ts';
import { engineSpeed, packedSource, syntheticFloatModel } from './engine-bench.ts';

const args = process.argv.slice(2);
const THREADS = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : 2;
const W4A8 = { name: 'W4A8', wbits: 4, abits: 8, groupSize: 0 };

async function main(): Promise<void> {
  const simd = (await loadKernelModule('simd')).module;
  console.log(`| model | engine | decode tok/s | prefill tok/s |\n|---|---|---|---|`);
  for (const [name, shape] of [['stories15M (synthetic)', SYNTH_SHAPES.stories15M], ['stories110M (synthetic)', SYNTH_SHAPES.stories110M]] as const) {
    const model = syntheticFloatModel(name, shape);
    const row = (engine: string, s: { decodeTokS: number; prefillTokS: number }) =>
      console.log(`| ${name} | ${engine} | ${s.decodeTokS.toFixed(1)} | ${s.prefillTokS.toFixed(1)} |`);
    row('W4A8, 1 thread', await engineSpeed(packedSource(model, W4A8), { simd }));
    for (const spin of ['0', undefined]) {
      if (spin === undefined) delete process.env.ABQ_WASM_SPIN;
      else process.env.ABQ_WASM_SPIN = spin;
      const t = await threadedEngineOptions(THREADS);
      row(`W4A8, ${THREADS} threads${spin === '0' ? ', no polling (sleep per call)' : ', polling before sleep (default)'}`,
        await engineSpeed(packedSource(model, W4A8), t.kernels, undefined, { parallel: t.parallel }));
    }
  }
}

await main();

/**
 * Builds the WASM kernels: regenerates the unrolled bitwise GEMM source, then compiles the SIMD,
 * the scalar and the shared-memory SIMD (threads) builds with asc into wasm/build/. Run by `npm run build:wasm` (and `prepare`).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ASC = fileURLToPath(new URL('../node_modules/assemblyscript/bin/asc.js', import.meta.url));
const COMMON = ['--runtime', 'stub', '-O3', '--noAssert', '--importMemory', '--use', 'abort='];
const BUILDS = [
  { entry: 'wasm/assembly/kernels-simd.ts', out: 'wasm/build/kernels-simd.wasm', flags: ['--enable', 'simd'] },
  { entry: 'wasm/assembly/kernels-scalar.ts', out: 'wasm/build/kernels-scalar.wasm', flags: [] },
  // The SIMD kernels with relaxed SIMD's i8x16.relaxed_swizzle in the table lookups (a bare pshufb on
  // x86; bit-identical, the indices are < 16). Loaded where the engine validates relaxed SIMD (Node 22+,
  // Chromium; Node 20 only with --experimental-wasm-relaxed-simd); same exports.
  { entry: 'wasm/assembly/kernels-simd.ts', out: 'wasm/build/kernels-simd-relaxed.wasm', flags: ['--enable', 'simd,relaxed-simd'] },
  // The SIMD kernels over an imported *shared* memory, for worker threads (Node); same exports.
  { entry: 'wasm/assembly/kernels-simd.ts', out: 'wasm/build/kernels-simd-mt.wasm', flags: ['--enable', 'simd,threads', '--sharedMemory', '--maximumMemory', '65536'] },
];

execFileSync(process.execPath, ['--import', 'tsx', 'wasm/scripts/gen-bitgemm.ts'], { cwd: ROOT, stdio: 'inherit' });
mkdirSync(`${ROOT}wasm/build`, { recursive: true });
for (const b of BUILDS) {
  execFileSync(process.execPath, [ASC, b.entry, '--outFile', b.out, ...COMMON, ...b.flags], { cwd: ROOT, stdio: 'inherit' });
  console.log(`built ${b.out}`);
}

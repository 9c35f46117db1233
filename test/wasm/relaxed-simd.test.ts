/**
 * The relaxed-SIMD build (i8x16.relaxed_swizzle in the table lookups) gives the reference
 * accumulators bit for bit on both lookup paths and every (p, q). Runs in process where relaxed SIMD
 * is on (Node 22+), else in a child Node 20 with --experimental-wasm-relaxed-simd.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { relaxedSimdSupported } from '../../wasm/src/kernels.ts';
import { RELAXED_SIMD_KERNEL_PATH } from '../../wasm/src/node.ts';
import { checkRelaxedLookups, type RelaxedCheck } from './relaxed-check.ts';

const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
const CHECK_SCRIPT = fileURLToPath(new URL('./relaxed-check.ts', import.meta.url));

/** Whether this Node accepts the V8 flag that turns relaxed SIMD on (Node 20; later ones have it on). */
function flagWorks(): boolean {
  try {
    execFileSync(process.execPath, [RELAXED_FLAG, '-e', ''], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const canRun = existsSync(RELAXED_SIMD_KERNEL_PATH) && (relaxedSimdSupported() || flagWorks());

it.skipIf(!canRun)('relaxed-SIMD lookups are bit-exact for every (p, q) (skipped when wasm/build/kernels-simd-relaxed.wasm is not built or this Node has no relaxed SIMD)', async () => {
  let result: RelaxedCheck;
  if (relaxedSimdSupported()) {
    result = await checkRelaxedLookups();
  } else {
    const out = execFileSync(process.execPath, [RELAXED_FLAG, '--import', 'tsx', CHECK_SCRIPT], { encoding: 'utf8' });
    result = JSON.parse(out.trim().split('\n').pop()!) as RelaxedCheck;
  }
  expect(result.relaxed).toBe(true);
  expect(result.cases).toBe(64 * 2 + 32 * 2); // lut for every (p, q), lutpairs for even p, two shapes each
  expect(result.mismatches).toEqual([]);
});

/**
 * CI has nvcc but no GPU: compile the addon and the benchmark for sm_90a (one arch keeps it quick;
 * `npm run build:cuda` builds 90a and 80), then load the fresh addon and check that it reports the
 * missing GPU cleanly. Incremental: a second run only relinks what changed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCudaBackend, resetCudaBackendForTests } from '../../gpu-node/src/load-cuda-backend.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_DIR = path.join(ROOT, 'gpu-node/build/ci-sm90a');
const BUILD_TIMEOUT_MS = 20 * 60_000;

function findNvcc(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).stdout.trim();
  return onPath || ['/usr/local/cuda/bin/nvcc', '/usr/local/bin/nvcc'].find((p) => existsSync(p));
}
const nvcc = findNvcc();
const cmake = spawnSync('sh', ['-c', 'command -v cmake'], { encoding: 'utf8' }).stdout.trim();
const skipReason = !nvcc ? ' (skipped: nvcc not found)' : !cmake ? ' (skipped: cmake not found)' : '';

describe('CUDA addon build', () => {
  it.skipIf(skipReason !== '')(`compiles for sm_90a with static cudart${skipReason}`, () => {
    execFileSync(process.execPath, [path.join(ROOT, 'gpu-node/scripts/build.mjs'), '--require'], {
      env: { ...process.env, ABQ_CUDA_ARCHS: '90a', ABQ_BUILD_DIR: BUILD_DIR, CMAKE_BUILD_PARALLEL_LEVEL: '2' },
      stdio: 'pipe',
      timeout: BUILD_TIMEOUT_MS,
    });
    const addon = path.join(BUILD_DIR, 'abq_gpu.node');
    expect(existsSync(addon)).toBe(true);
    expect(existsSync(path.join(BUILD_DIR, 'abq-gpu-bench'))).toBe(true);
    // Static cudart: no libcudart.so dependency, only the driver at run time.
    const deps = spawnSync('ldd', [addon], { encoding: 'utf8' }).stdout;
    expect(deps).not.toMatch(/libcudart\.so/);
    resetCudaBackendForTests();
    const backend = loadCudaBackend(addon);
    resetCudaBackendForTests();
    if (!backend.available) expect(backend.reason).toMatch(/^CUDA backend unavailable: deviceInfo: CUDA error \d+/);
    else expect(backend.device.count).toBeGreaterThan(0);
  }, BUILD_TIMEOUT_MS);
});

import { existsSync } from 'node:fs';
import { describe, expect, it, beforeEach } from 'vitest';
import { DEFAULT_ADDON_PATH, loadCudaBackend, requireCudaBackend, resetCudaBackendForTests } from '../../gpu-node/src/load-cuda-backend.ts';

describe('loadCudaBackend', () => {
  beforeEach(() => resetCudaBackendForTests());

  it('reports a missing addon as unavailable, naming the fix', () => {
    const b = loadCudaBackend('/definitely/not/here/abq_gpu.node');
    expect(b.available).toBe(false);
    if (!b.available) {
      expect(b.reason).toMatch(/^CUDA backend unavailable: native addon not built/);
      expect(b.reason).toContain('npm run build:cuda');
    }
  });

  it('caches the first answer', () => {
    const a = loadCudaBackend('/definitely/not/here/abq_gpu.node');
    expect(loadCudaBackend(DEFAULT_ADDON_PATH)).toBe(a);
  });

  it('requireCudaBackend throws the reason as an Error', () => {
    loadCudaBackend('/definitely/not/here/abq_gpu.node');
    expect(() => requireCudaBackend()).toThrow(/^CUDA backend unavailable: /);
  });

  const built = existsSync(DEFAULT_ADDON_PATH);
  const probe = built ? loadCudaBackend(DEFAULT_ADDON_PATH) : undefined;
  const hasGpu = probe?.available === true;
  it.skipIf(!built || hasGpu)(
    `loads the built addon and reports the missing GPU cleanly${!built ? ' (skipped: addon not built; npm run build:cuda)' : hasGpu ? ' (skipped: this machine has a GPU)' : ''}`,
    () => {
      resetCudaBackendForTests();
      const b = loadCudaBackend(DEFAULT_ADDON_PATH);
      expect(b.available).toBe(false);
      if (!b.available) {
        // No driver: error 35 (cudaErrorInsufficientDriver); driver but no device: 100.
        expect(b.reason).toMatch(/^CUDA backend unavailable: deviceInfo: CUDA error (35|100) \(cuda\w+: .+\) in `cudaGetDeviceCount/);
      }
    },
  );
});

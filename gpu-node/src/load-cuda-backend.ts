/**
 * Lazy, cached loader of the CUDA addon. Never throws: on a machine without the built addon, without
 * a driver or without a GPU it returns `{ available: false, reason }`, and the reason reads
 * "CUDA backend unavailable: <why>" so callers can log it and fall back to the WASM engine.
 *
 * The addon is found at $ABQ_GPU_ADDON, else gpu-node/build/abq_gpu.node (npm run build:cuda).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CudaDeviceInfo, NativeAddon } from './native.ts';

export const DEFAULT_ADDON_PATH = fileURLToPath(new URL('../build/abq_gpu.node', import.meta.url));

export type CudaBackend =
  | { available: true; addon: NativeAddon; device: CudaDeviceInfo; path: string }
  | { available: false; reason: string };

let cached: CudaBackend | undefined;

function unavailable(why: string): CudaBackend {
  return { available: false, reason: `CUDA backend unavailable: ${why}` };
}

/** Loads the addon once and asks it for the device; later calls return the same answer. */
export function loadCudaBackend(addonPath = process.env.ABQ_GPU_ADDON ?? DEFAULT_ADDON_PATH): CudaBackend {
  if (cached) return cached;
  cached = probe(addonPath);
  return cached;
}

/** For tests: forget the cached answer. */
export function resetCudaBackendForTests(): void {
  cached = undefined;
}

function probe(addonPath: string): CudaBackend {
  if (!existsSync(addonPath)) {
    return unavailable(`native addon not built (${addonPath} is missing; run \`npm run build:cuda\` on a machine with nvcc)`);
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
  } catch (err) {
    return unavailable(`cannot load ${addonPath}: ${(err as Error).message}`);
  }
  try {
    return { available: true, addon, device: addon.deviceInfo(), path: addonPath };
  } catch (err) {
    // cudaGetDeviceCount fails with error 35 (no driver) or 100 (no device) on GPU-less machines.
    return unavailable((err as Error).message);
  }
}

/** The addon, or an Error carrying the unavailability reason. */
export function requireCudaBackend(): NativeAddon {
  const backend = loadCudaBackend();
  if (!backend.available) throw new Error(backend.reason);
  return backend.addon;
}

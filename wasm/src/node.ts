/**
 * Node-only helpers: read the kernel builds from wasm/build/ (written by `npm run build:wasm`).
 * Kept apart from the runtime-free engine so workerd and browser bundles never see node: modules.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { simdSupported, type KernelFlavor } from './kernels.ts';

export const WASM_BUILD_DIR = fileURLToPath(new URL('../build/', import.meta.url));

export function kernelPath(flavor: KernelFlavor): string {
  return `${WASM_BUILD_DIR}kernels-${flavor}.wasm`;
}

/** Compiled kernel module of the given flavor (default: SIMD where supported). */
export async function loadKernelModule(flavor: KernelFlavor = simdSupported() ? 'simd' : 'scalar'): Promise<{ module: WebAssembly.Module; flavor: KernelFlavor }> {
  const file = kernelPath(flavor);
  if (!existsSync(file)) throw new Error(`${file} is missing: build the kernels with \`npm run build:wasm\``);
  return { module: await WebAssembly.compile(await readFile(file)), flavor };
}

/**
 * Node-only helpers: read the kernel builds from wasm/build/ (written by `npm run build:wasm`) and
 * packed model folders.
 * Kept apart from the runtime-free engine so workerd and browser bundles never see node: modules.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relaxedSimdSupported, simdSupported, type KernelFlavor } from './kernels.ts';
import { readPackedModel } from '../../shared/format/packed-dir.ts';
import { createWasmEngine, type EngineOptions, type WasmEngine } from './engine.ts';
import { fromPackedModel } from './model-source.ts';
import { ThreadPool } from './thread-pool.ts';

export const WASM_BUILD_DIR = fileURLToPath(new URL('../build/', import.meta.url));

export function kernelPath(flavor: KernelFlavor): string {
  return `${WASM_BUILD_DIR}kernels-${flavor}.wasm`;
}

/** The SIMD build with relaxed table lookups (same ABI and results as kernels-simd.wasm). */
export const RELAXED_SIMD_KERNEL_PATH = `${WASM_BUILD_DIR}kernels-simd-relaxed.wasm`;

/**
 * Compiled kernel module of the given flavor (default: SIMD where supported). For 'simd', the
 * relaxed-SIMD build is taken where the engine supports relaxed SIMD and it was built (unless
 * `relaxed` is false); its lookups are faster, its integers the same.
 */
export async function loadKernelModule(flavor: KernelFlavor = simdSupported() ? 'simd' : 'scalar',
  relaxed: boolean = relaxedSimdSupported()): Promise<{ module: WebAssembly.Module; flavor: KernelFlavor; relaxed: boolean }> {
  if (flavor === 'simd' && relaxed && existsSync(RELAXED_SIMD_KERNEL_PATH)) {
    return { module: await WebAssembly.compile(await readFile(RELAXED_SIMD_KERNEL_PATH)), flavor, relaxed: true };
  }
  const file = kernelPath(flavor);
  if (!existsSync(file)) throw new Error(`${file} is missing: build the kernels with \`npm run build:wasm\``);
  return { module: await WebAssembly.compile(await readFile(file)), flavor, relaxed: false };
}

/**
 * Engine options for `threads` worker threads (Node): the shared-memory SIMD build and a thread
 * pool over the engine's memory. Spread them into createWasmEngine's options.
 */
export async function threadedEngineOptions(threads: number): Promise<Pick<EngineOptions, 'kernels' | 'parallel'>> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  const file = `${WASM_BUILD_DIR}kernels-simd-mt.wasm`;
  if (!existsSync(file)) throw new Error(`${file} is missing: build the kernels with \`npm run build:wasm\``);
  const module = await WebAssembly.compile(await readFile(file));
  return {
    kernels: { simd: module },
    parallel: (mod, memory, local) => ThreadPool.create(mod, memory, threads, local as unknown as Record<string, (...a: number[]) => unknown>),
  };
}

/**
 * Node convenience: a WASM engine over a packed model folder (model.safetensors + config.json, as
 * written by the quantizer), with both kernel builds read from wasm/build/.
 */
export async function createWasmEngineFromDir(dir: string, options: Omit<EngineOptions, 'model' | 'kernels' | 'parallel'> & { threads?: number } = {}): Promise<WasmEngine> {
  const { threads = 1, ...rest } = options;
  const packed = await readPackedModel(dir);
  if (threads > 1) return createWasmEngine({ ...rest, ...(await threadedEngineOptions(threads)), model: fromPackedModel(packed) });
  const [simd, scalar] = await Promise.all([loadKernelModule('simd'), loadKernelModule('scalar')]);
  return createWasmEngine({ ...rest, model: fromPackedModel(packed), kernels: { simd: simd.module, scalar: scalar.module } });
}

/** Test helper: instantiates one kernel build in a fresh memory, with an arena above its static data. */
import { Arena } from '../../wasm/src/arena.ts';
import { instantiateKernels, type KernelFlavor, type Kernels } from '../../wasm/src/kernels.ts';
import { loadKernelModule } from '../../wasm/src/node.ts';

export interface KernelEnv { kernels: Kernels; arena: Arena }

export async function kernelEnv(flavor: KernelFlavor, initialPages = 64): Promise<KernelEnv> {
  const { module } = await loadKernelModule(flavor);
  const memory = new WebAssembly.Memory({ initial: initialPages, maximum: 65536 });
  const kernels = await instantiateKernels(module, flavor, memory);
  return { kernels, arena: new Arena(memory, kernels.exports.heapBase()) };
}

export const FLAVORS: KernelFlavor[] = ['simd', 'scalar'];

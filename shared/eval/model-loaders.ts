/**
 * The table of loaders for quantized model folders, keyed by config.json's
 * `quantization_config.quant_method`. A packed-model runtime adds itself either by one line in
 * LAZY_MODEL_LOADERS (imported only when such a folder is loaded, so `eval` of a float model never
 * loads quantization code) or at run time with registerModelLoader().
 */
import type { ModelLoader } from './load-any-model.ts';

/** method -> import of the module that provides its loader. */
const LAZY_MODEL_LOADERS: Record<string, () => Promise<ModelLoader>> = {
  // Our packed format (shared/format/quant-config.ts): the integer reference path of shared/quant.
  abq: () => import('../quant/load-packed.ts').then((m) => m.loadPackedForEval),
};

const registered = new Map<string, ModelLoader>();

export function registerModelLoader(method: string, loader: ModelLoader): void {
  if (!method) throw new Error('registerModelLoader: the method name must not be empty');
  registered.set(method, loader);
}

export async function findModelLoader(method: string): Promise<ModelLoader | undefined> {
  return registered.get(method) ?? (await LAZY_MODEL_LOADERS[method]?.());
}

export function registeredModelLoaders(): string[] {
  return [...new Set([...registered.keys(), ...Object.keys(LAZY_MODEL_LOADERS)])].sort();
}

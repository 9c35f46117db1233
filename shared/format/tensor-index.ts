/**
 * Name -> tensor lookup shared by the in-memory and the file readers, with the one error a missing
 * name gets. Entries come from an already validated header, in buffer order.
 */
import { AbqFormatError } from './errors.ts';
import type { TensorInfo } from './safetensors-header.ts';

export abstract class TensorIndex {
  protected readonly byName = new Map<string, TensorInfo>();

  constructor(tensors: readonly TensorInfo[], private readonly where: () => string) {
    for (const t of tensors) this.byName.set(t.name, t);
  }

  /** Tensor names in buffer order. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new AbqFormatError('MISSING_TENSOR', `not in ${this.where()}`, name);
    return t;
  }
}

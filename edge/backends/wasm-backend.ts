/**
 * The WASM engine (wasm/) as a backend: the edge's own fallback and the node's `--backend wasm`.
 * An engine holds one sequence (its KV cache lives in its WebAssembly.Memory), so the backend keeps
 * a small pool of engines, created on demand up to `maxEngines`; a request waits for a free one.
 * Runtime-free: Node (wasm-node.ts) and workerd (edge/worker.ts) hand it the model and kernels.
 */
import { createWasmEngine, type KernelSource, type PackedModelSource, type WasmEngine } from '../../wasm/src/index.ts';
import { parseLlamaConfig } from '../../shared/model/config.ts';
import { LocalModelBackend, type StepModel } from './local-model.ts';

export const DEFAULT_MAX_ENGINES = 2;
/** Models above this many parameters are not served by the edge's WASM fallback by default. */
export const DEFAULT_WASM_MAX_PARAMETERS = 200_000_000;

export interface WasmBackendOptions {
  modelId: string;
  source: PackedModelSource;
  kernels: { simd?: KernelSource; scalar?: KernelSource };
  maxEngines?: number;
  maxParameters?: number;
  /** KV cache length per engine; default: the model's context. */
  maxSeq?: number;
}

class EnginePool {
  private readonly idle: WasmEngine[] = [];
  private created = 0;
  private readonly waiters: ((e: WasmEngine) => void)[] = [];

  constructor(private readonly make: () => Promise<WasmEngine>, private readonly max: number) {}

  async acquire(): Promise<WasmEngine> {
    const e = this.idle.pop();
    if (e) return e;
    if (this.created < this.max) {
      this.created++;
      try {
        return await this.make();
      } catch (err) {
        this.created--;
        throw err;
      }
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(e: WasmEngine): void {
    e.reset();
    const w = this.waiters.shift();
    if (w) w(e);
    else this.idle.push(e);
  }
}

function parameterCount(config: Record<string, unknown>): number {
  const c = parseLlamaConfig(config);
  const perLayer = c.hiddenSize * c.numHeads * c.headDim * 2 + c.hiddenSize * c.numKvHeads * c.headDim * 2 + 3 * c.hiddenSize * c.intermediateSize;
  return c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * perLayer;
}

export function createWasmBackend(opts: WasmBackendOptions): LocalModelBackend {
  const config = parseLlamaConfig(opts.source.config);
  const maxSeq = opts.maxSeq ?? config.maxPositionEmbeddings;
  const pool = new EnginePool(() => createWasmEngine({ model: opts.source, kernels: opts.kernels, maxSeq }), opts.maxEngines ?? DEFAULT_MAX_ENGINES);
  const model: StepModel = {
    vocabSize: config.vocabSize,
    contextLength: maxSeq,
    parameterCount: parameterCount(opts.source.config),
    async newSession() {
      const engine = await pool.acquire();
      return { forward: (tokens) => engine.prefill(tokens), dispose: () => pool.release(engine) };
    },
  };
  return new LocalModelBackend({ id: `wasm:${opts.modelId}`, kind: 'wasm', modelIds: [opts.modelId], model, maxParameters: opts.maxParameters ?? DEFAULT_WASM_MAX_PARAMETERS });
}

/**
 * What the engine needs from a model, independent of where it came from: the HF config.json, the
 * quantized linears by HF module name, and float tensors by HF name. A packed model read by
 * shared/format (readPackedModelFromBuffers in any runtime, readPackedModel(dir) in Node) adapts
 * with fromPackedModel; an unquantized checkpoint (all linears as `<name>.weight` floats) also works,
 * which is how the f32 baseline runs on the same kernels.
 */
import type { PackedWeights } from '../../shared/numerics/packed-linear-ref.ts';
import type { PackedModel } from '../../shared/format/packed-read.ts';

export interface QuantizedLinearSource {
  weights: PackedWeights;
  /** Activation bits 1..8, or 16 for weight-only. */
  abits: number;
  /** 0 or K: per token. */
  actGroupSize: number;
}

export interface PackedModelSource {
  /** The HF config.json object. */
  config: Record<string, unknown>;
  /** Quantized linears by HF module name (e.g. model.layers.0.mlp.down_proj). */
  linear(name: string): QuantizedLinearSource | undefined;
  /** A float tensor as f32 by HF name, or undefined when absent. */
  float(name: string): Float32Array | undefined;
}

export function fromPackedModel(model: PackedModel, config?: Record<string, unknown>): PackedModelSource {
  const cfg = config ?? model.config;
  if (!cfg) throw new Error('the packed model was read without config.json: pass configJson to readPackedModelFromBuffers or a config here');
  return {
    config: cfg,
    linear(name) {
      const layer = model.layers.get(name);
      return layer && { weights: layer.weights, abits: layer.spec.abits, actGroupSize: layer.spec.actGroupSize };
    },
    float: (name) => (model.hasFloat(name) ? model.float(name) : undefined),
  };
}

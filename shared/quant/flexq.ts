/**
 * FlexQ's layer selection: with every layer at W6A6 (per-group weights), measure for each linear
 * how much the calibration loss (next-token cross-entropy on calibration samples) drops when that one
 * layer's activations are kept at 8 bits. Layers are ranked by that benefit; the top `budget`
 * fraction (or all above `threshold` nats) keep A8. The chosen names are returned for printing.
 */
import { buildQuantizedLlama, layersForModel } from './build-model.ts';
import { samplesLoss } from './samples-loss.ts';
import type { QuantizedModel } from './pipeline.ts';

/** At most this many calibration samples are used per measurement (35 forwards per model). */
export const SENSITIVITY_SAMPLES = 8;
export const DEFAULT_BUDGET = 0.1;
export const HIGH_ACT_BITS = 8;

export interface FlexqOptions { budget?: number; threshold?: number }
export interface FlexqReport { baseLoss: number; benefit: { name: string; delta: number }[]; chosen: string[] }

export function selectA8Layers(qm: QuantizedModel, samples: Int32Array[], o: FlexqOptions): FlexqReport {
  const cfg = qm.source.config;
  const floats = (n: string) => qm.floats.get(n);
  const sub = samples.slice(0, SENSITIVITY_SAMPLES);
  const asLayers = () => layersForModel(qm.layers);
  const baseLoss = samplesLoss(buildQuantizedLlama(cfg, asLayers(), floats, 'simulated'), sub);
  const benefit = qm.layers.map((l, i) => {
    const layers = asLayers();
    layers[i].abits = HIGH_ACT_BITS;
    return { name: l.name, delta: baseLoss - samplesLoss(buildQuantizedLlama(cfg, layers, floats, 'simulated'), sub) };
  });
  const ranked = [...benefit].sort((a, b) => b.delta - a.delta);
  const chosen = o.threshold !== undefined
    ? ranked.filter((r) => r.delta >= o.threshold!).map((r) => r.name)
    : ranked.slice(0, Math.ceil((o.budget ?? DEFAULT_BUDGET) * ranked.length)).map((r) => r.name);
  for (const l of qm.layers) if (chosen.includes(l.name)) l.spec.abits = HIGH_ACT_BITS;
  return { baseLoss, benefit, chosen };
}

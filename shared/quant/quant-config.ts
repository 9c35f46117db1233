/**
 * Per-layer quantization settings: the global W/A configuration, plus overrides for chosen layers
 * (e.g. W6A6 with A8 on some down_proj layers). Everything the packer and the simulated forward need
 * to agree on is resolved here, once, and validated against the model's shapes.
 */
import { QuantError } from './errors.ts';
import { MIN_BITS, MAX_BITS, BITS_PER_WORD } from '../format/bitplanes.ts';
import { A16 } from '../numerics/packed-linear-ref.ts';
import type { WeightQuantSpec } from '../numerics/weight-quant.ts';
import type { LinearName } from '../model/llama.ts';

export const LINEAR_NAMES: readonly LinearName[] = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
/** ABQ's bit-balanced 2-bit grid: 5 symmetric levels (-2..2) stored in 3 bit planes. */
export const W2STAR: { bits: number; levels: number } = { bits: 3, levels: 5 };

export interface LayerQuantSpec {
  /** Bit planes stored. */
  wbits: number;
  /** Levels of the grid (2^wbits unless W2*). */
  levels: number;
  /** Group size along K (K = per channel). */
  groupSize: number;
  symmetric: boolean;
  /** 1..8, or 16 (weight-only). */
  abits: number;
  /** Activation group (K = per token). */
  actGroup: number;
}

export interface QuantSettings {
  /** Weight bits, or '2*' for ABQ's W2*. */
  w: number | '2*';
  a: number;
  /** 0 = per channel (whole rows). */
  group: number;
  symmetric: boolean;
  /** 0 = per token. */
  actGroup: number;
  /** Allow a last, shorter group when the group size does not divide K. */
  partialGroups: boolean;
  /** Overrides: module-name substring -> bits (applied in order, later wins). */
  overrides: LayerOverride[];
}

export interface LayerOverride { match: string; w?: number | '2*'; a?: number }

export const DEFAULT_SETTINGS: QuantSettings = { w: 4, a: 16, group: 0, symmetric: false, actGroup: 0, partialGroups: false, overrides: [] };

export function parseWeightBits(raw: string): number | '2*' {
  if (raw === '2*') return '2*';
  const v = Number(raw);
  if (!Number.isInteger(v) || v < MIN_BITS || v > MAX_BITS) throw new QuantError(`weight bits must be an integer in ${MIN_BITS}..${MAX_BITS} or '2*' (ABQ's 5-level W2*), got '${raw}'`);
  return v;
}

export function checkActBits(a: number): void {
  if (!(Number.isInteger(a) && ((a >= MIN_BITS && a <= MAX_BITS) || a === A16))) {
    throw new QuantError(`activation bits must be an integer in ${MIN_BITS}..${MAX_BITS} or 16 (not quantized), got ${a}`);
  }
}

/** Parses "down_proj:a8", "layers.0.:w8a8", "mlp:w2*" (module-name substring, then the bits). */
export function parseOverride(text: string): LayerOverride {
  const m = /^(.+):(?:w(\d|2\*))?(?:a(\d+))?$/.exec(text);
  if (!m || (!m[2] && !m[3])) throw new QuantError(`layer override '${text}' must look like '<name substring>:a8', ':w8' or ':w6a8'`);
  const o: LayerOverride = { match: m[1] };
  if (m[2]) o.w = parseWeightBits(m[2]);
  if (m[3]) { o.a = Number(m[3]); checkActBits(o.a); }
  return o;
}

export function weightLabel(w: number | '2*'): string {
  return w === '2*' ? 'W2*' : `W${w}`;
}

/** The resolved spec of one linear (module = HF name, e.g. model.layers.0.mlp.down_proj). */
export function layerSpec(settings: QuantSettings, module: string, k: number): LayerQuantSpec {
  let w = settings.w, a = settings.a;
  for (const o of settings.overrides) if (module.includes(o.match)) { w = o.w ?? w; a = o.a ?? a; }
  checkActBits(a);
  const star = w === '2*';
  const wbits = star ? W2STAR.bits : (w as number);
  if (!Number.isInteger(wbits) || wbits < MIN_BITS || wbits > MAX_BITS) throw new QuantError(`${module}: weight bits must be in ${MIN_BITS}..${MAX_BITS}, got ${wbits}`);
  const groupSize = settings.group <= 0 || settings.group >= k ? k : settings.group;
  if (groupSize !== k && groupSize % BITS_PER_WORD !== 0) {
    throw new QuantError(`${module}: group size ${settings.group} must be a multiple of ${BITS_PER_WORD} (bit planes hold whole words) or 0 for per channel`);
  }
  if (k % groupSize !== 0 && !settings.partialGroups) {
    throw new QuantError(`${module}: group size ${settings.group} does not divide its ${k} input features; pick a divisor of ${k}, use --group 0 (per channel), or pass --partial-groups to allow a shorter last group`);
  }
  const actGroup = settings.actGroup <= 0 || settings.actGroup >= k ? k : settings.actGroup;
  if (a !== A16 && actGroup !== k && actGroup % groupSize !== 0) {
    throw new QuantError(`${module}: activation group ${settings.actGroup} must be 0 (per token) or a multiple of the weight group ${groupSize}`);
  }
  const symmetric = star || settings.symmetric;
  const levels = star ? W2STAR.levels : 1 << wbits;
  if (symmetric && levels < 3) throw new QuantError(`${module}: symmetric quantization needs at least 2 bits (3 levels); use asymmetric for 1-bit weights`);
  return { wbits, levels, groupSize, symmetric, abits: a, actGroup };
}

export function toWeightSpec(s: LayerQuantSpec): WeightQuantSpec {
  return { bits: s.wbits, groupSize: s.groupSize, symmetric: s.symmetric, levels: s.levels };
}

/** Short label of the global configuration, e.g. W4A8 g128, W2*A8. */
export function settingsLabel(s: QuantSettings): string {
  const g = s.group > 0 ? ` g${s.group}` : '';
  return `${weightLabel(s.w)}A${s.a}${g}${s.symmetric && s.w !== '2*' ? ' sym' : ''}`;
}

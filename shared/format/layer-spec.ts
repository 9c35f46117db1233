/**
 * PackedLayerSpec: how one quantized linear layer is stored and run (one entry of `abq.layers`), and
 * the rules a spec must satisfy. Runtime-free.
 *
 * K = inFeatures (the reduction dimension), N = outFeatures; weights are [N, K] as in HF checkpoints.
 */
import { AbqFormatError } from './errors.ts';
import { BITS_PER_WORD, MAX_BITS, MIN_BITS } from './bitplanes.ts';

/** Activation bits meaning "not quantized" (weight-only, e.g. W4A16). Same value as numerics' A16. */
export const ACT_BITS_NONE = 16;
export const MIN_LEVELS = 2;
/** Symmetric grids need a middle code (zero) and at least one code each side. */
export const MIN_SYMMETRIC_LEVELS = 3;

export interface PackedLayerSpec {
  /** HF module name of the linear, e.g. "model.layers.0.mlp.down_proj" (tensors are `${name}.qweight` etc.). */
  name: string;
  /** K: input features (reduction dimension). */
  inFeatures: number;
  /** N: output features (rows of the weight). */
  outFeatures: number;
  /** Bit planes stored per weight code, 1..8. */
  wbits: number;
  /** Number of grid levels actually used, 2..2^wbits (5 with wbits 3 is ABQ's bit-balanced W2*). */
  levels: number;
  /** Weight group size along K: a multiple of 32 below K, or K itself (per channel). */
  groupSize: number;
  /** True when the grid is symmetric around zero = ceil((levels-1)/2). */
  symmetric: boolean;
  /** Activation bits 1..8, or 16 for weight-only (activations stay float). */
  abits: number;
  /** Activation group size: 0 or K = one group per token, else a multiple of groupSize below K. */
  actGroupSize: number;
  /** Quantization method that produced the weights ("rtn", "omniquant", ...); informative only. */
  method: string;
  /** True when `${name}.bias` (F32 [N]) is stored. */
  hasBias: boolean;
}

export const LAYER_SPEC_KEYS: readonly (keyof PackedLayerSpec)[] = [
  'name', 'inFeatures', 'outFeatures', 'wbits', 'levels', 'groupSize', 'symmetric', 'abits', 'actGroupSize', 'method', 'hasBias',
];

/** Number of scale/zero groups per row. */
export function layerGroups(spec: Pick<PackedLayerSpec, 'inFeatures' | 'groupSize'>): number {
  return Math.ceil(spec.inFeatures / spec.groupSize);
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/**
 * Checks one spec (an untrusted JSON value) and returns it typed. Each broken rule has its own code;
 * every error names the layer.
 */
export function validateLayerSpec(value: unknown): PackedLayerSpec {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AbqFormatError('INVALID_LAYER_SPEC', `each abq.layers entry must be an object, got ${JSON.stringify(value)?.slice(0, 60)}`);
  }
  const s = value as Record<string, unknown>;
  const name = typeof s.name === 'string' && s.name.length > 0 ? s.name : undefined;
  if (!name) throw new AbqFormatError('INVALID_LAYER_SPEC', 'layer spec needs a non-empty string "name"');
  const bad = (why: string) => new AbqFormatError('INVALID_LAYER_SPEC', why, name);
  for (const key of Object.keys(s)) if (!(LAYER_SPEC_KEYS as string[]).includes(key)) throw bad(`unknown key "${key}" (allowed: ${LAYER_SPEC_KEYS.join(', ')})`);
  for (const key of LAYER_SPEC_KEYS) if (!(key in s)) throw bad(`missing key "${key}"`);
  const { inFeatures: k, outFeatures: n, wbits, levels, groupSize, symmetric, abits, actGroupSize, method, hasBias } = s;
  if (!isPositiveInt(k) || !isPositiveInt(n)) throw bad(`inFeatures and outFeatures must be positive integers, got ${k} and ${n}`);
  if (typeof symmetric !== 'boolean' || typeof hasBias !== 'boolean') throw bad('symmetric and hasBias must be booleans');
  if (typeof method !== 'string' || method.length === 0) throw bad('method must be a non-empty string');
  if (!isInt(wbits) || wbits < MIN_BITS || wbits > MAX_BITS) {
    throw new AbqFormatError('INVALID_WBITS', `wbits must be an integer in ${MIN_BITS}..${MAX_BITS}, got ${wbits}`, name);
  }
  const minLevels = symmetric ? MIN_SYMMETRIC_LEVELS : MIN_LEVELS;
  if (!isInt(levels) || levels < minLevels || levels > 2 ** wbits) {
    throw new AbqFormatError('INVALID_LEVELS', `levels must be an integer in ${minLevels}..${2 ** wbits} for ${wbits}-bit ${symmetric ? 'symmetric' : 'asymmetric'} weights, got ${levels}`, name);
  }
  if (!isPositiveInt(groupSize) || (groupSize !== k && (groupSize % BITS_PER_WORD !== 0 || groupSize > k))) {
    throw new AbqFormatError('INVALID_GROUP_SIZE', `groupSize must be a multiple of ${BITS_PER_WORD} below K or equal to K (${k}), got ${groupSize}`, name);
  }
  if (!isInt(abits) || (abits !== ACT_BITS_NONE && (abits < MIN_BITS || abits > MAX_BITS))) {
    throw new AbqFormatError('INVALID_ABITS', `abits must be an integer in ${MIN_BITS}..${MAX_BITS} or ${ACT_BITS_NONE} (weight-only), got ${abits}`, name);
  }
  const actOk = actGroupSize === 0 || actGroupSize === k ||
    (isPositiveInt(actGroupSize) && actGroupSize < k && actGroupSize % groupSize === 0);
  if (!actOk) {
    throw new AbqFormatError('INVALID_ACT_GROUP_SIZE', `actGroupSize must be 0 or K (${k}) for per-token, or a multiple of groupSize (${groupSize}) below K, got ${actGroupSize}`, name);
  }
  return { name, inFeatures: k, outFeatures: n, wbits, levels, groupSize, symmetric, abits, actGroupSize: actGroupSize as number, method, hasBias };
}

/** Validates a list of specs (from abq.layers); names must be unique. */
export function validateLayerSpecs(value: unknown): PackedLayerSpec[] {
  if (!Array.isArray(value)) throw new AbqFormatError('INVALID_LAYER_SPEC', 'abq.layers must be a JSON array of layer specs');
  const seen = new Set<string>();
  return value.map((v) => {
    const spec = validateLayerSpec(v);
    if (seen.has(spec.name)) throw new AbqFormatError('INVALID_LAYER_SPEC', 'described twice in abq.layers', spec.name);
    seen.add(spec.name);
    return spec;
  });
}

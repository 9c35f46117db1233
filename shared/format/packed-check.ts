/**
 * The packed-layer rules (runtime-free): which tensors a layer stores, their dtypes and shapes, and
 * the checks on their contents that every backend relies on (zero points in range, codes in range,
 * padding bits clear). Readers and the writer run the same checks, so nothing is written that a
 * reader would refuse.
 *
 * Tensors of layer L (K = inFeatures, N = outFeatures, G = ceil(K / groupSize)):
 *   L.qweight  U32 [wbits, N, ceil(K/32)]  bit planes (bitplanes.ts)
 *   L.scales   F16 [N, G]
 *   L.zeros    U8  [N, G]
 *   L.bias     F32 [N]                     only when hasBias
 */
import { AbqFormatError, type AbqFormatErrorCode } from './errors.ts';
import type { Dtype } from './dtypes.ts';
import { paddingIsZero, wordsPerRow, BITS_PER_WORD } from './bitplanes.ts';
import { layerGroups, type PackedLayerSpec } from './layer-spec.ts';
import type { TensorInfo } from './safetensors-header.ts';
import type { TensorSpec } from './safetensors-layout.ts';

export const QWEIGHT_SUFFIX = '.qweight';
export const SCALES_SUFFIX = '.scales';
export const ZEROS_SUFFIX = '.zeros';
export const BIAS_SUFFIX = '.bias';
/** dtypes an unquantized (float) tensor may have. */
export const FLOAT_DTYPES: readonly Dtype[] = ['F32', 'F16', 'BF16'];

/** Part names that only a described layer may use. */
const LAYER_ONLY_SUFFIXES = [QWEIGHT_SUFFIX, SCALES_SUFFIX, ZEROS_SUFFIX];

interface PartRule { suffix: string; code: AbqFormatErrorCode; dtype: Dtype; shape: (s: PackedLayerSpec) => number[] }

const PART_RULES: readonly PartRule[] = [
  { suffix: QWEIGHT_SUFFIX, code: 'QWEIGHT_MISMATCH', dtype: 'U32', shape: (s) => [s.wbits, s.outFeatures, wordsPerRow(s.inFeatures)] },
  { suffix: SCALES_SUFFIX, code: 'SCALES_MISMATCH', dtype: 'F16', shape: (s) => [s.outFeatures, layerGroups(s)] },
  { suffix: ZEROS_SUFFIX, code: 'ZEROS_MISMATCH', dtype: 'U8', shape: (s) => [s.outFeatures, layerGroups(s)] },
];
const BIAS_RULE: PartRule = { suffix: BIAS_SUFFIX, code: 'BIAS_MISMATCH', dtype: 'F32', shape: (s) => [s.outFeatures] };

/** The tensors a layer stores, with dtype and shape (what a writer declares). */
export function layerTensorSpecs(spec: PackedLayerSpec): TensorSpec[] {
  const rules = spec.hasBias ? [...PART_RULES, BIAS_RULE] : PART_RULES;
  return rules.map((r) => ({ name: spec.name + r.suffix, dtype: r.dtype, shape: r.shape(spec) }));
}

/**
 * Checks the tensor table of a packed file against its layer specs: every part present with the
 * right dtype and shape, no part without a spec, no non-float tensor outside a layer. Returns the
 * names of the float (unquantized) tensors.
 */
export function checkPackedTensorTable(specs: readonly PackedLayerSpec[], tensors: ReadonlyMap<string, TensorInfo>): string[] {
  const parts = new Set<string>();
  for (const spec of specs) {
    for (const rule of [...PART_RULES, BIAS_RULE]) {
      const name = spec.name + rule.suffix;
      const info = tensors.get(name);
      if (rule === BIAS_RULE) {
        if (!spec.hasBias) {
          if (info) throw new AbqFormatError('BIAS_MISMATCH', `present, but the layer spec says hasBias: false`, name);
          continue;
        }
      }
      if (!info) throw new AbqFormatError('MISSING_TENSOR', `layer ${spec.name} is described in abq.layers but this part is missing`, name);
      const shape = rule.shape(spec);
      if (info.dtype !== rule.dtype || !sameShape(info.shape, shape)) {
        throw new AbqFormatError(rule.code, `is ${info.dtype} [${info.shape.join(', ')}], expected ${rule.dtype} [${shape.join(', ')}] for ${spec.wbits}-bit [${spec.outFeatures}, ${spec.inFeatures}] with groupSize ${spec.groupSize}`, name);
      }
      parts.add(name);
    }
  }
  const floats: string[] = [];
  for (const [name, info] of tensors) {
    if (parts.has(name)) continue;
    if (LAYER_ONLY_SUFFIXES.some((s) => name.endsWith(s))) {
      throw new AbqFormatError('UNDESCRIBED_TENSOR', 'looks like a packed layer part, but abq.layers has no spec for its layer', name);
    }
    if (!FLOAT_DTYPES.includes(info.dtype)) {
      throw new AbqFormatError('UNDESCRIBED_TENSOR', `is ${info.dtype}; outside a described layer only ${FLOAT_DTYPES.join('/')} tensors are allowed`, name);
    }
    floats.push(name);
  }
  return floats;
}

/** Data checks of one layer: zero points and codes below `levels`, padding bits clear. */
export function checkPackedLayerData(spec: PackedLayerSpec, planes: Uint32Array, zeros: Uint8Array): void {
  const { name, outFeatures: n, inFeatures: k, wbits, levels } = spec;
  for (let i = 0; i < zeros.length; i++) {
    if (zeros[i] > levels - 1) {
      const g = layerGroups(spec);
      throw new AbqFormatError('ZERO_OUT_OF_RANGE', `zero point ${zeros[i]} at [${Math.floor(i / g)}, ${i % g}] exceeds levels - 1 = ${levels - 1}`, name + ZEROS_SUFFIX);
    }
  }
  if (!paddingIsZero(planes, n, k, wbits)) {
    throw new AbqFormatError('NONZERO_PADDING', `bits past K = ${k} in the last word of a row are set; they must be zero in every plane`, name + QWEIGHT_SUFFIX);
  }
  const bad = firstCodeAtLeast(planes, n, k, wbits, levels);
  if (bad) {
    throw new AbqFormatError('CODE_OUT_OF_RANGE', `weight code at [${bad.row}, ${bad.col}] is >= levels (${levels})`, name + QWEIGHT_SUFFIX);
  }
}

/**
 * First (row, col) whose code is >= `limit`, or undefined. Works on 32 codes at once: a bit-serial
 * comparator from the top plane down keeps `eq` (lanes equal to limit so far) and `ge` (lanes
 * already greater).
 */
function firstCodeAtLeast(planes: Uint32Array, n: number, k: number, bits: number, limit: number): { row: number; col: number } | undefined {
  if (limit >= 2 ** bits) return undefined;
  const wpr = wordsPerRow(k);
  const tail = k % BITS_PER_WORD;
  for (let r = 0; r < n; r++) {
    for (let w = 0; w < wpr; w++) {
      let ge = 0;
      let eq = 0xffffffff;
      for (let b = bits - 1; b >= 0; b--) {
        const p = planes[(b * n + r) * wpr + w];
        if ((limit >>> b) & 1) eq &= p;
        else { ge |= eq & p; eq &= ~p; }
      }
      ge |= eq;
      if (w === wpr - 1 && tail !== 0) ge &= (1 << tail) - 1;
      if (ge !== 0) return { row: r, col: w * BITS_PER_WORD + (31 - Math.clz32(ge & -ge)) };
    }
  }
  return undefined;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

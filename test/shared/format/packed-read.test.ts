import { describe, expect, it } from 'vitest';
import { AbqFormatError, type AbqFormatErrorCode } from '../../../shared/format/errors.ts';
import { readPackedModelFromBuffers } from '../../../shared/format/packed-read.ts';
import { roundToF16 } from '../../../shared/format/f16.ts';
import type { TensorData } from '../../../shared/format/safetensors-serialize.ts';
import { PackedLinearRef } from '../../../shared/numerics/packed-linear-ref.ts';
import { smallPackedModel } from './packed-fixtures.ts';
import { packedBytes, type PackedBytesEdits } from './packed-bytes.ts';

const model = smallPackedModel();
const Q = 'model.layers.0.self_attn.q_proj';
const DOWN = 'model.layers.0.mlp.down_proj'; // 3 planes, 5 levels, K = 33, with bias
const GATE = 'model.layers.0.mlp.gate_proj'; // 1 plane, K = 31

async function failure(edits: PackedBytesEdits, verify = false): Promise<{ code: AbqFormatErrorCode; tensor?: string }> {
  try {
    await readPackedModelFromBuffers(packedBytes(model, edits), { verify });
  } catch (e) {
    if (e instanceof AbqFormatError) return { code: e.code, tensor: e.tensor };
    throw e;
  }
  throw new Error('expected an AbqFormatError, but reading succeeded');
}

const editSpec = (name: string, change: Record<string, unknown>) => ({
  specs: (specs: Record<string, unknown>[]) => specs.map((s) => (s.name === name ? { ...s, ...change } : s)),
});
const editTensor = (name: string, fn: (t: TensorData) => TensorData | undefined) => ({
  tensors: (ts: TensorData[]) => ts.flatMap((t) => (t.name === name ? (fn(t) ? [fn(t)!] : []) : [t])),
});

describe('readPackedModelFromBuffers', () => {
  it('returns every layer and float tensor as written', async () => {
    const m = await readPackedModelFromBuffers(packedBytes(model), { verify: true });
    expect([...m.layers.keys()]).toEqual(model.layers.map((l) => l.spec.name));
    for (const { spec, weights } of model.layers) {
      const got = m.layers.get(spec.name)!;
      expect(got.spec).toEqual(spec);
      expect(Array.from(got.weights.planes)).toEqual(Array.from(weights.planes));
      expect(Array.from(got.weights.scales)).toEqual(Array.from(weights.scales));
      expect(Array.from(got.weights.zeros)).toEqual(Array.from(weights.zeros));
      expect(got.weights.bias && Array.from(got.weights.bias)).toEqual(weights.bias && Array.from(weights.bias));
    }
    expect(m.floatNames().sort()).toEqual(['model.embed_tokens.weight', 'model.norm.weight']);
    expect(Array.from(m.float('model.norm.weight'))).toEqual(Array.from(model.floats[0].data as Float32Array));
    expect(Array.from(m.float('model.embed_tokens.weight'))).toEqual(Array.from(model.floats[1].data as Float32Array, roundToF16));
    expect(m.metadata.source).toEqual(model.source);
    expect(m.quantizationConfig?.quant_method).toBe('abq');
  });

  it('gives PackedWeights that compute the same outputs as the originals', async () => {
    const m = await readPackedModelFromBuffers(packedBytes(model));
    const layer = m.layers.get(Q)!;
    const x = new Float32Array(2 * 70).map((_, i) => Math.sin(i));
    const act = { bits: layer.spec.abits, groupSize: layer.spec.actGroupSize };
    expect(new PackedLinearRef(layer.weights, act).forward(x, 2)).toEqual(new PackedLinearRef(model.layers[0].weights, act).forward(x, 2));
  });

  const cases: [string, AbqFormatErrorCode, PackedBytesEdits, string?][] = [
    ['format is not abq', 'UNSUPPORTED_FORMAT', { metadata: (m) => ({ ...m, format: 'pt' }) }],
    ['format_version 2', 'UNSUPPORTED_VERSION', { metadata: (m) => ({ ...m, format_version: '2' }) }],
    ['format_version "1.0"', 'UNSUPPORTED_VERSION', { metadata: (m) => ({ ...m, format_version: '1.0' }) }],
    ['config format_version 2', 'UNSUPPORTED_VERSION', { config: (c) => ({ ...c, quantization_config: { ...(c.quantization_config as object), format_version: 2 } }) }],
    ['abq.layers not JSON', 'INVALID_LAYER_SPEC', { metadata: (m) => ({ ...m, 'abq.layers': '[{' }) }],
    ['abq.layers not an array', 'INVALID_LAYER_SPEC', { specs: () => ({}) }],
    ['spec missing a key', 'INVALID_LAYER_SPEC', { specs: (s) => s.map(({ method: _m, ...rest }) => rest) }],
    ['spec with an unknown key', 'INVALID_LAYER_SPEC', editSpec(Q, { extra: 1 }), Q],
    ['layer described twice', 'INVALID_LAYER_SPEC', { specs: (s) => [...s, s[0]] }, Q],
    ['wbits 9', 'INVALID_WBITS', editSpec(Q, { wbits: 9 }), Q],
    ['wbits 0', 'INVALID_WBITS', editSpec(Q, { wbits: 0 }), Q],
    ['levels 17 for 4 bits', 'INVALID_LEVELS', editSpec(Q, { levels: 17 }), Q],
    ['symmetric with 2 levels', 'INVALID_LEVELS', editSpec(GATE, { symmetric: true }), GATE],
    ['abits 12', 'INVALID_ABITS', editSpec(Q, { abits: 12 }), Q],
    ['group size 48', 'INVALID_GROUP_SIZE', editSpec(Q, { groupSize: 48 }), Q],
    ['group size above K', 'INVALID_GROUP_SIZE', editSpec(Q, { groupSize: 96 }), Q],
    ['act group not a multiple', 'INVALID_ACT_GROUP_SIZE', editSpec(Q, { actGroupSize: 48 }), Q],
    ['act group above K', 'INVALID_ACT_GROUP_SIZE', editSpec(Q, { actGroupSize: 128 }), Q],
    ['qweight U8', 'QWEIGHT_MISMATCH', editTensor(`${Q}.qweight`, (t) => ({ ...t, dtype: 'U8', shape: [t.data.byteLength] })), `${Q}.qweight`],
    ['qweight wrong planes', 'QWEIGHT_MISMATCH', editSpec(Q, { wbits: 5, levels: 32 }), `${Q}.qweight`],
    ['scales U8', 'SCALES_MISMATCH', editTensor(`${Q}.scales`, (t) => ({ ...t, dtype: 'U8', shape: [t.data.byteLength / 5, 5] })), `${Q}.scales`],
    ['zeros wrong shape', 'ZEROS_MISMATCH', editTensor(`${Q}.zeros`, (t) => ({ ...t, shape: [t.data.byteLength] })), `${Q}.zeros`],
    ['bias missing', 'MISSING_TENSOR', editTensor(`${DOWN}.bias`, () => undefined), `${DOWN}.bias`],
    ['bias present but not declared', 'BIAS_MISMATCH', editSpec(DOWN, { hasBias: false }), `${DOWN}.bias`],
    ['bias F16', 'BIAS_MISMATCH', editTensor(`${DOWN}.bias`, (t) => ({ ...t, dtype: 'F16', shape: [10] })), `${DOWN}.bias`],
    ['scales missing', 'MISSING_TENSOR', editTensor(`${Q}.scales`, () => undefined), `${Q}.scales`],
    ['zero above levels - 1', 'ZERO_OUT_OF_RANGE', editTensor(`${DOWN}.zeros`, (t) => { (t.data as Uint8Array)[3] = 5; return t; }), `${DOWN}.zeros`],
    ['code 7 with 5 levels', 'CODE_OUT_OF_RANGE', editTensor(`${DOWN}.qweight`, (t) => { const p = t.data as Uint32Array; p[0] |= 1; p[5 * 2] |= 1; p[10 * 2] |= 1; return t; }), `${DOWN}.qweight`],
    ['padding bit set', 'NONZERO_PADDING', editTensor(`${GATE}.qweight`, (t) => { (t.data as Uint32Array)[0] |= 1 << 31; return t; }), `${GATE}.qweight`],
    ['qweight without a spec', 'UNDESCRIBED_TENSOR', { specs: (s) => s.filter((x) => x.name !== GATE) }, `${GATE}.qweight`],
    ['U8 tensor outside a layer', 'UNDESCRIBED_TENSOR', { tensors: (t) => [...t, { name: 'stray', dtype: 'U8', shape: [1], data: new Uint8Array(1) }] }, 'stray'],
    ['source not JSON', 'INVALID_SOURCE', { metadata: (m) => ({ ...m, 'abq.source': 'hf' }) }],
    ['source missing dtype', 'INVALID_SOURCE', { metadata: (m) => ({ ...m, 'abq.source': '{"model":"a","revision":""}' }) }],
    ['checksums missing a tensor', 'INVALID_CHECKSUMS', { metadata: (m) => { const c = JSON.parse(m['abq.checksums']); delete c['model.norm.weight']; return { ...m, 'abq.checksums': JSON.stringify(c) }; } }, 'model.norm.weight'],
    ['checksum not hex', 'INVALID_CHECKSUMS', { metadata: (m) => { const c = JSON.parse(m['abq.checksums']); c['model.norm.weight'] = 'XYZ'; return { ...m, 'abq.checksums': JSON.stringify(c) }; } }, 'model.norm.weight'],
    ['config without quantization_config', 'INVALID_QUANT_CONFIG', { config: ({ quantization_config: _q, ...c }) => c }],
    ['config disagrees on bits', 'INVALID_QUANT_CONFIG', { config: (c) => ({ ...c, quantization_config: { ...(c.quantization_config as object), overrides: {} } }) }],
    ['config not an object', 'INVALID_QUANT_CONFIG', { config: () => [1] }],
    ['duplicate key in abq.layers', 'DUPLICATE_KEY', { metadata: (m) => ({ ...m, 'abq.layers': m['abq.layers'].replace('"name":', '"method":"x","name":') }) }],
  ];
  for (const [what, code, edits, tensor] of cases) {
    it(`${what} -> ${code}`, async () => {
      const err = await failure(edits);
      expect(err.code).toBe(code);
      if (tensor) expect(err.tensor).toBe(tensor);
    });
  }

  it('finds an edited tensor only with verify: true (CHECKSUM_MISMATCH)', async () => {
    const edits: PackedBytesEdits = { staleChecksums: true, ...editTensor('model.norm.weight', (t) => ({ ...t, data: new Float32Array(8) })) };
    await expect(readPackedModelFromBuffers(packedBytes(model, edits))).resolves.toBeDefined();
    expect(await failure(edits, true)).toEqual({ code: 'CHECKSUM_MISMATCH', tensor: 'model.norm.weight' });
  });
});

import { describe, expect, it } from 'vitest';
import { buildQuantizationConfig, checkQuantizationConfig, readQuantizationConfig, settingsForLayer } from '../../../shared/format/quant-config.ts';
import { layerSpec } from './packed-fixtures.ts';

const specs = [
  layerSpec('l0.q', { wbits: 4, inFeatures: 256, groupSize: 128, abits: 8 }),
  layerSpec('l0.k', { wbits: 4, inFeatures: 256, groupSize: 128, abits: 8 }),
  layerSpec('l0.down', { wbits: 8, inFeatures: 512, groupSize: 128, abits: 8 }),
  layerSpec('l0.up', { wbits: 4, inFeatures: 96, groupSize: 96, abits: 8, actGroupSize: 96 }), // per channel, per token
];

describe('quantization_config', () => {
  const qc = buildQuantizationConfig(specs);

  it('takes the most common setting as defaults and lists the others as overrides', () => {
    expect(qc).toMatchObject({ quant_method: 'abq', format_version: 1, bits: 4, levels: 16, group_size: 128, sym: false, abits: 8, act_group_size: 0, method: 'rtn', num_quantized_layers: 4 });
    expect(qc.overrides).toEqual({ 'l0.down': { bits: 8, levels: 256 }, 'l0.up': { group_size: -1 } });
    expect(settingsForLayer(qc, 'l0.up').group_size).toBe(-1);
  });

  it('reads back through JSON and agrees with the specs', () => {
    const back = readQuantizationConfig(JSON.parse(JSON.stringify(qc)));
    expect(back).toEqual(qc);
    expect(() => checkQuantizationConfig(back, specs)).not.toThrow();
  });

  it('names the layer it disagrees with', () => {
    const wrong = { ...qc, overrides: { ...qc.overrides, 'l0.k': { abits: 4 } } };
    expect(() => checkQuantizationConfig(wrong, specs)).toThrow(expect.objectContaining({ code: 'INVALID_QUANT_CONFIG', tensor: 'l0.k' }));
    expect(() => checkQuantizationConfig({ ...qc, overrides: { ...qc.overrides, ghost: { bits: 2 } } }, specs)).toThrow(expect.objectContaining({ tensor: 'ghost' }));
    expect(() => checkQuantizationConfig(qc, specs.slice(1))).toThrow(/num_quantized_layers/);
  });

  it('rejects wrong types and other quant methods', () => {
    expect(() => readQuantizationConfig({ ...qc, quant_method: 'gptq' })).toThrow(expect.objectContaining({ code: 'INVALID_QUANT_CONFIG' }));
    expect(() => readQuantizationConfig({ ...qc, bits: '4' })).toThrow(expect.objectContaining({ code: 'INVALID_QUANT_CONFIG' }));
    expect(() => readQuantizationConfig({ ...qc, overrides: { x: { colour: 1 } } })).toThrow(/unknown key/);
    expect(() => readQuantizationConfig({ ...qc, format_version: 9 })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }));
  });
});

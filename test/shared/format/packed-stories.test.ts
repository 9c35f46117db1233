/**
 * The format over a real checkpoint: every linear of stories260K is quantized (reference RTN), packed,
 * streamed layer by layer from the HF file into a packed folder, read back, and run.
 */
import { afterAll, expect, it } from 'vitest';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSafetensorsFile } from '../../../shared/format/safetensors-file.ts';
import { PackedModelWriter } from '../../../shared/format/packed-write.ts';
import { readPackedModel } from '../../../shared/format/packed-dir.ts';
import { packBitPlanes } from '../../../shared/format/bitplanes.ts';
import type { PackedLayerSpec } from '../../../shared/format/layer-spec.ts';
import { quantizeWeightsRef, dequantizeWeightsRef } from '../../../shared/numerics/weight-quant.ts';
import { PackedLinearRef } from '../../../shared/numerics/packed-linear-ref.ts';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';

const root = mkdtempSync(path.join(tmpdir(), 'abq-stories-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const LINEAR = /\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.weight$/;

describeWithShared('packed stories260K', () => {
  it('streams a W4A8 g32 pack of the HF file and reads it back bit-exact', async () => {
    const src = await openSafetensorsFile(path.join(STORIES260K_DIR!, 'model.safetensors'));
    const dir = path.join(root, 'stories-w4a8');
    try {
      const linears = src.names().filter((n) => LINEAR.test(n));
      const layers: PackedLayerSpec[] = linears.map((n) => {
        const [outFeatures, inFeatures] = src.info(n).shape;
        return { name: n.replace(/\.weight$/, ''), inFeatures, outFeatures, wbits: 4, levels: 16, groupSize: 32, symmetric: false, abits: 8, actGroupSize: 0, method: 'rtn', hasBias: false };
      });
      const floats = src.names().filter((n) => !LINEAR.test(n)).map((n) => ({ name: n, dtype: 'F16' as const, shape: src.info(n).shape }));
      const w = await PackedModelWriter.create(dir, {
        layers, floats, source: { model: 'stories260K', revision: '', dtype: 'F32' }, config: { model_type: 'llama' },
        extraFiles: [{ name: 'tokenizer.json', from: path.join(STORIES260K_DIR!, 'tokenizer.json') }],
      });
      const expected = new Map<string, Float32Array>();
      for (const spec of layers) { // one layer in memory at a time
        const q = quantizeWeightsRef(await src.readF32(`${spec.name}.weight`), spec.outFeatures, spec.inFeatures, { bits: 4, groupSize: 32, symmetric: false });
        expected.set(spec.name, dequantizeWeightsRef(q));
        await w.addLayer(spec.name, { n: q.n, k: q.k, bits: 4, groupSize: q.groupSize, planes: packBitPlanes(q.codes, q.n, q.k, 4), scales: q.scales, zeros: q.zeros });
      }
      for (const f of floats) await w.addTensor(f.name, await src.readF32(f.name));
      await w.finish();
      expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);

      const m = await readPackedModel(dir, { verify: true });
      expect(m.layers.size).toBe(linears.length);
      const down = m.layers.get('model.layers.0.mlp.down_proj')!;
      // Weight-only path dequantizes: identical to the reference dequantization of the same codes.
      const x = new Float32Array(down.spec.inFeatures).map((_, i) => Math.cos(i));
      const dense = expected.get(down.spec.name)!;
      const y = new PackedLinearRef(down.weights, { bits: 16, groupSize: 0 }).forward(x, 1);
      for (let r = 0; r < 4; r++) {
        let s = 0;
        for (let i = 0; i < down.spec.inFeatures; i++) s += x[i] * dense[r * down.spec.inFeatures + i];
        expect(y[r]).toBeCloseTo(s, 4);
      }
      expect(m.float('model.norm.weight').length).toBe(src.info('model.norm.weight').shape[0]);
    } finally {
      await src.close();
    }
  });
});

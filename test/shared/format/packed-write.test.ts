import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PackedModelWriter, writePackedModel } from '../../../shared/format/packed-write.ts';
import { openPackedModel, readPackedModel } from '../../../shared/format/packed-dir.ts';
import { openSafetensorsFile } from '../../../shared/format/safetensors-file.ts';
import { REPO_ROOT } from '../../helpers/shared-data.ts';
import { smallPackedModel } from './packed-fixtures.ts';

const root = mkdtempSync(path.join(tmpdir(), 'abq-packed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const model = smallPackedModel();
/** Hidden partial/old folders left beside targets in `root`. */
const leftovers = () => readdirSync(root).filter((f) => f.startsWith('.'));

describe('writePackedModel / readPackedModel (folder)', () => {
  it('writes config.json, model.safetensors and extra files, and reads them back', async () => {
    const tok = path.join(root, 'tokenizer-src.json');
    writeFileSync(tok, '{"model":{}}');
    const dir = path.join(root, 'm1');
    await writePackedModel(dir, { ...model, extraFiles: [{ name: 'tokenizer.json', from: tok }, { name: 'README.md', data: '# tiny\n' }] });
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'config.json', 'model.safetensors', 'tokenizer.json']);
    expect(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')).toBe('{"model":{}}');
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config.model_type).toBe('llama');
    expect(config.quantization_config).toMatchObject({ quant_method: 'abq', format_version: 1, num_quantized_layers: 5 });
    const m = await readPackedModel(dir, { verify: true });
    for (const { spec, weights } of model.layers) {
      const got = m.layers.get(spec.name)!;
      expect(got.spec).toEqual(spec);
      expect(Buffer.compare(Buffer.from(got.weights.planes.buffer, got.weights.planes.byteOffset, got.weights.planes.byteLength),
        Buffer.from(weights.planes.buffer, weights.planes.byteOffset, weights.planes.byteLength))).toBe(0);
      expect(Array.from(got.weights.scales)).toEqual(Array.from(weights.scales));
    }
    const st = await openSafetensorsFile(path.join(dir, 'model.safetensors'));
    expect(st.metadata.format).toBe('abq');
    expect(Object.values(JSON.parse(st.metadata['abq.checksums'])).every((h) => /^[0-9a-f]{64}$/.test(h as string) && h !== '0'.repeat(64))).toBe(true);
    await st.close();
    expect(leftovers()).toEqual([]);
  });

  it('streams layers in any order and reads them one at a time', async () => {
    const dir = path.join(root, 'm2');
    const w = await PackedModelWriter.create(dir, { ...model, layers: model.layers.map((l) => l.spec), floats: model.floats });
    for (const f of model.floats) await w.addTensor(f.name, f.data);
    for (const l of [...model.layers].reverse()) await w.addLayer(l.spec.name, l.weights);
    expect(existsSync(dir)).toBe(false);
    await w.finish();
    const file = await openPackedModel(dir, { verify: true });
    try {
      const down = await file.readLayer('model.layers.0.mlp.down_proj');
      expect(Array.from(down.weights.bias!)).toEqual(Array.from(model.layers[1].weights.bias!));
      expect((await file.readFloat('model.norm.weight')).length).toBe(8);
      await expect(file.readLayer('nope')).rejects.toMatchObject({ code: 'MISSING_TENSOR' });
    } finally {
      await file.close();
    }
  });

  it('replaces an existing model only when the new one is complete', async () => {
    const dir = path.join(root, 'm3');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'old.txt'), 'old');
    await writePackedModel(dir, model);
    expect(existsSync(path.join(dir, 'old.txt'))).toBe(false);
    expect(existsSync(path.join(dir, 'model.safetensors'))).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it('leaves no half model when an error is thrown midway (and keeps the old one)', async () => {
    const dir = path.join(root, 'm4');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'old.txt'), 'old');
    const w = await PackedModelWriter.create(dir, { ...model, layers: model.layers.map((l) => l.spec), floats: model.floats });
    await w.addLayer(model.layers[0].spec.name, model.layers[0].weights);
    const bad = { ...model.layers[1].weights, zeros: model.layers[1].weights.zeros.map(() => 9) };
    await expect(w.addLayer(model.layers[1].spec.name, bad)).rejects.toMatchObject({ code: 'ZERO_OUT_OF_RANGE' });
    await expect(w.finish()).rejects.toThrow(/already finished or aborted/);
    expect(readdirSync(dir)).toEqual(['old.txt']);
    expect(leftovers()).toEqual([]);
  });

  it('refuses to finish with a layer missing, and scales that are not F16 values', async () => {
    const dir = path.join(root, 'm5');
    const w = await PackedModelWriter.create(dir, { ...model, layers: model.layers.map((l) => l.spec), floats: model.floats });
    await expect(w.finish()).rejects.toMatchObject({ code: 'MISSING_TENSOR' });
    const w2 = await PackedModelWriter.create(dir, { ...model, layers: model.layers.map((l) => l.spec), floats: model.floats });
    const l = model.layers[0];
    await expect(w2.addLayer(l.spec.name, { ...l.weights, scales: l.weights.scales.map((s) => s * 1.0001) })).rejects.toThrow(/not an F16 value/);
    expect(existsSync(dir)).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('refuses an invalid plan before touching the disk, and creates missing parent folders', async () => {
    const dir = path.join(root, 'deeper', 'm7');
    const plan = { ...model, layers: model.layers.map((l) => ({ ...l.spec, wbits: 9 })), floats: model.floats };
    await expect(PackedModelWriter.create(dir, plan)).rejects.toMatchObject({ code: 'INVALID_WBITS' });
    expect(existsSync(path.join(root, 'deeper'))).toBe(false);
    await writePackedModel(dir, model);
    expect(readdirSync(dir)).toContain('model.safetensors');
  });

  it('leaves no half model when the writing process is killed, and cleans up on the next write', async () => {
    const dir = path.join(root, 'm6');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'old.txt'), 'old');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./packed-write-child.ts', import.meta.url)), dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('started')) resolve(); });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(readdirSync(dir)).toEqual(['old.txt']);
    expect(leftovers().some((f) => f.startsWith('.m6.abq-partial-'))).toBe(true); // the kill did land mid-write
    await writePackedModel(dir, model);
    expect(leftovers()).toEqual([]);
    expect((await readPackedModel(dir)).layers.size).toBe(5);
  });
});

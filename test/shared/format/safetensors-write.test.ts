import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSafetensors } from '../../../shared/format/safetensors-read.ts';
import { openSafetensorsFile } from '../../../shared/format/safetensors-file.ts';
import { SafetensorsStreamWriter, serializeSafetensors } from '../../../shared/format/safetensors-write.ts';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'abq-st-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tensors = [
  { name: 'z.u8', dtype: 'U8' as const, shape: [5], data: new Uint8Array([1, 2, 3, 4, 5]) },
  { name: 'a.f32', dtype: 'F32' as const, shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
  { name: 'm.f16', dtype: 'F16' as const, shape: [3], data: new Uint16Array([0x3c00, 0x4000, 0xc000]) },
  { name: 'e.empty', dtype: 'F32' as const, shape: [0], data: new Float32Array(0) },
];
const specs = tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape }));

/** Leftover temp files in the directory. */
const temps = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('SafetensorsStreamWriter', () => {
  it('writes the same bytes as serializeSafetensors, in chunks and in any tensor order', async () => {
    const target = path.join(dir, 'a.safetensors');
    const w = await SafetensorsStreamWriter.create(target, specs, { m: '1' }, { sha256: true });
    expect(w.order.map((t) => t.name)).toEqual(['a.f32', 'e.empty', 'm.f16', 'z.u8']);
    for (const t of [...tensors].reverse()) {
      const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      for (let i = 0; i < b.length; i += 2) await w.write(t.name, b.subarray(i, i + 2)); // odd chunk sizes on purpose
    }
    expect(existsSync(target)).toBe(false); // nothing at the target before finish()
    const sha = w.sha256Hex('a.f32');
    await w.finish();
    const onDisk = readFileSync(target);
    expect(Buffer.compare(onDisk, serializeSafetensors(tensors, { m: '1' }))).toBe(0);
    expect(sha).toBe(createHash('sha256').update(parseSafetensors(onDisk).bytes('a.f32')).digest('hex'));
    expect(w.sha256Hex('e.empty')).toBe(createHash('sha256').digest('hex'));
    expect(temps()).toEqual([]);
  });

  it('replaces the metadata at finish() when the header length stays the same', async () => {
    const target = path.join(dir, 'meta.safetensors');
    const w = await SafetensorsStreamWriter.create(target, specs, { sum: '0'.repeat(8) });
    for (const t of tensors) await w.write(t.name, t.data);
    await w.finish({ sum: 'abcdef12' });
    expect((await openSafetensorsFile(target).then(async (f) => { const m = f.metadata; await f.close(); return m; }))).toEqual({ sum: 'abcdef12' });
  });

  it('rejects an oversized chunk and removes the temp file', async () => {
    const target = path.join(dir, 'over.safetensors');
    const w = await SafetensorsStreamWriter.create(target, specs);
    await expect(w.write('z.u8', new Uint8Array(6))).rejects.toMatchObject({ code: 'SIZE_MISMATCH', tensor: 'z.u8' });
    expect(existsSync(target)).toBe(false);
    expect(temps()).toEqual([]);
    await expect(w.write('z.u8', new Uint8Array(1))).rejects.toThrow(/already aborted/);
  });

  it('refuses to finish with an incomplete tensor or an undeclared one', async () => {
    const target = path.join(dir, 'short.safetensors');
    const w = await SafetensorsStreamWriter.create(target, specs);
    await w.write('a.f32', new Float32Array(6));
    await expect(w.finish()).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(temps()).toEqual([]);
    const w2 = await SafetensorsStreamWriter.create(target, specs);
    await expect(w2.write('nope', new Uint8Array(1))).rejects.toMatchObject({ code: 'MISSING_TENSOR', tensor: 'nope' });
    expect(existsSync(target)).toBe(false);
  });

  it('abort() keeps an existing target intact', async () => {
    const target = path.join(dir, 'keep.safetensors');
    writeFileSync(target, 'old');
    const w = await SafetensorsStreamWriter.create(target, specs);
    await w.write('z.u8', new Uint8Array(5));
    await w.abort();
    await w.abort();
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(temps()).toEqual([]);
  });

  it('rejects metadata that would change the header length at finish()', async () => {
    const target = path.join(dir, 'grow.safetensors');
    const w = await SafetensorsStreamWriter.create(target, specs, { k: 'v' });
    for (const t of tensors) await w.write(t.name, t.data);
    await expect(w.finish({ k: 'v'.repeat(100) })).rejects.toThrow(/header length/);
    expect(existsSync(target)).toBe(false);
    expect(temps()).toEqual([]);
  });
});

describeWithShared('SafetensorsStreamWriter on stories260K', () => {
  it('rewrites the Hugging Face file tensor by tensor into an equivalent file', async () => {
    const src = await openSafetensorsFile(path.join(STORIES260K_DIR!, 'model.safetensors'));
    const target = path.join(dir, 'stories.safetensors');
    try {
      const w = await SafetensorsStreamWriter.create(target, src.names().map((n) => src.info(n)), src.metadata);
      for (const n of src.names()) await w.write(n, await src.readBytes(n));
      await w.finish();
      const out = await openSafetensorsFile(target);
      for (const n of src.names()) expect(Buffer.compare(await out.readBytes(n), await src.readBytes(n)), n).toBe(0);
      expect(out.metadata).toEqual(src.metadata);
      await out.close();
    } finally {
      await src.close();
    }
  });
});

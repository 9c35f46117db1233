import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbqFormatError } from '../../../shared/format/errors.ts';
import { openSafetensorsFile } from '../../../shared/format/safetensors-file.ts';
import { parseSafetensors } from '../../../shared/format/safetensors-read.ts';
import { serializeSafetensors } from '../../../shared/format/safetensors-serialize.ts';
import { encodeF16 } from '../../../shared/format/f16.ts';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'abq-st-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = serializeSafetensors([
  { name: 'a', dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
  { name: 'h', dtype: 'F16', shape: [3], data: encodeF16([0.5, 1, -2]) },
  { name: 'q', dtype: 'U32', shape: [1], data: new Uint32Array([42]) },
], { k: 'v' });

describe('openSafetensorsFile', () => {
  it('reads the header first and tensors on demand', async () => {
    const file = path.join(dir, 'ok.safetensors');
    writeFileSync(file, bytes);
    const st = await openSafetensorsFile(file);
    try {
      expect(st.metadata).toEqual({ k: 'v' });
      expect(st.names().sort()).toEqual(['a', 'h', 'q']);
      expect(st.info('a')).toMatchObject({ dtype: 'F32', shape: [2, 2] });
      expect(Array.from(await st.readF32('a'))).toEqual([1, 2, 3, 4]);
      expect(Array.from(await st.readF32('h'))).toEqual([0.5, 1, -2]);
      expect(Array.from(await st.readView('q') as Uint32Array)).toEqual([42]);
      expect(Array.from(await st.readBytes('q'))).toEqual([42, 0, 0, 0]);
      await expect(st.readF32('q')).rejects.toMatchObject({ code: 'WRONG_DTYPE', tensor: 'q' });
      expect(() => st.info('zz')).toThrow(AbqFormatError);
    } finally {
      await st.close();
    }
  });

  it('rejects a truncated file and one with trailing bytes', async () => {
    const short = path.join(dir, 'short.safetensors');
    writeFileSync(short, bytes.subarray(0, bytes.length - 1));
    await expect(openSafetensorsFile(short)).rejects.toMatchObject({ code: 'OFFSETS_OUT_OF_BOUNDS' });
    const long = path.join(dir, 'long.safetensors');
    writeFileSync(long, Buffer.concat([bytes, Buffer.from([0])]));
    await expect(openSafetensorsFile(long)).rejects.toMatchObject({ code: 'OFFSETS_NOT_CONTIGUOUS' });
    const tiny = path.join(dir, 'tiny.safetensors');
    writeFileSync(tiny, Buffer.from([1, 2, 3]));
    await expect(openSafetensorsFile(tiny)).rejects.toMatchObject({ code: 'HEADER_TOO_SMALL' });
  });

  it('passes I/O errors through unchanged', async () => {
    await expect(openSafetensorsFile(path.join(dir, 'absent.safetensors'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describeWithShared('openSafetensorsFile on stories260K', () => {
  it('agrees with the in-memory reader on every tensor', async () => {
    const file = path.join(STORIES260K_DIR!, 'model.safetensors');
    const whole = readFileSync(file);
    const mem = parseSafetensors(new Uint8Array(whole.buffer, whole.byteOffset, whole.length));
    const st = await openSafetensorsFile(file);
    try {
      expect(st.names()).toEqual(mem.names());
      for (const n of st.names()) expect(Buffer.compare(await st.readBytes(n), mem.bytes(n)), n).toBe(0);
    } finally {
      await st.close();
    }
  });
});

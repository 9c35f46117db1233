import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspectCommand } from '../../../../scripts/cli/commands/inspect.ts';
import { writePackedModel } from '../../../../shared/format/packed-write.ts';
import { openSafetensorsFile } from '../../../../shared/format/safetensors-file.ts';
import { smallPackedModel } from '../../../shared/format/packed-fixtures.ts';
import { captureConsole as capture } from '../../../helpers/capture-console.ts';

const root = mkdtempSync(path.join(tmpdir(), 'abq-inspect-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());


describe('abq-pack inspect', () => {
  it('lists and verifies a packed folder, and lists a plain file', async () => {
    const dir = path.join(root, 'm');
    await writePackedModel(dir, smallPackedModel());
    let io = capture();
    expect(await inspectCommand.run([dir], { verify: true })).toBe(0);
    expect(io.out[0]).toMatch(/^abq packed model, format v1: 5 quantized layers, 2 float tensors/);
    expect(io.out.join('\n')).toContain('model.layers.0.mlp.down_proj\t5 x 33\t3\t5\tK\t16\ttoken\trtn');
    expect(io.out.at(-1)).toBe('checksums: all tensors verified');
    vi.restoreAllMocks();
    io = capture();
    expect(await inspectCommand.run([path.join(dir, 'model.safetensors')], { json: true })).toBe(0);
    expect(JSON.parse(io.out.join('\n')).tensors.length).toBe(18);
  });

  it('exits 1 with the error code on a corrupt file', async () => {
    const dir = path.join(root, 'bad');
    await writePackedModel(dir, smallPackedModel());
    const file = path.join(dir, 'model.safetensors');
    const st = await openSafetensorsFile(file);
    const at = st.dataOffset + st.info('model.norm.weight').begin;
    await st.close();
    const bytes = readFileSync(file);
    bytes[at] ^= 0x01; // a float's low mantissa bit: only the checksum notices
    writeFileSync(file, bytes);
    const io = capture();
    expect(await inspectCommand.run([dir], {})).toBe(0);
    expect(await inspectCommand.run([dir], { verify: true })).toBe(1);
    expect(io.err.join('\n')).toMatch(/CHECKSUM_MISMATCH \(tensor "model.norm.weight"\)/);
  });
});

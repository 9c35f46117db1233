import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { synthCommand, shapeFromOptions } from '../../../../scripts/cli/commands/synth.ts';
import { SYNTH_SHAPES } from '../../../../shared/model/synth-shapes.ts';
import { main } from '../../../../scripts/cli/main.ts';

describe('abq-pack synth', () => {
  it('takes a named shape and applies overrides', () => {
    expect(shapeFromOptions({ shape: 'llama-2-70b' }).shape).toEqual(SYNTH_SHAPES['llama-2-70b']);
    expect(shapeFromOptions({ shape: 'llama-2-7b', layers: '2' }).shape).toMatchObject({ hidden: 4096, layers: 2, kvHeads: 32 });
  });

  it('custom needs every dimension, and checks heads', () => {
    expect(() => shapeFromOptions({ shape: 'custom', hidden: '64' })).toThrow(/--heads is required/);
    const full = { shape: 'custom', hidden: '64', intermediate: '96', layers: '2', heads: '4', vocab: '100' };
    expect(shapeFromOptions(full).shape).toMatchObject({ kvHeads: 4, tied: false });
    expect(() => shapeFromOptions({ ...full, 'kv-heads': '3' })).toThrow(/--kv-heads \(3\) must divide --heads \(4\)/);
    expect(() => shapeFromOptions({ ...full, heads: '5' })).toThrow(/multiple of --heads/);
  });

  it('writes the folder', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'abq-synth-cli-'));
    try {
      const out = path.join(tmp, 'm');
      const code = await synthCommand.run([], { shape: 'stories260K-shape', out, dtype: 'f32', seed: '1', 'max-shard-mb': '2000' });
      expect(code).toBe(0);
      expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ abq_synthetic: true, abq_synthetic_shape: 'stories260K-shape', hidden_size: 64 });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('is registered in the abq-pack command table', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'abq-synth-main-'));
    try {
      const out = path.join(tmp, 'm');
      const args = ['synth', '--shape', 'custom', '--hidden', '32', '--intermediate', '48', '--layers', '1', '--heads', '2', '--vocab', '64', '--out', out];
      expect(await main(args)).toBe(0);
      expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ abq_synthetic: true, torch_dtype: 'float16', vocab_size: 64 });
      expect(await main(['synth', '--shape', 'custom', '--out', path.join(tmp, 'x')])).toBe(2); // usage error: dimensions missing
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSeqlen, loadAnyModel, registerModelLoader, registeredModelLoaders } from '../../../shared/eval/node.ts';
import { describeWithShared, STORIES260K_DIR } from '../../helpers/shared-data.ts';

describe('loadAnyModel dispatch on quantization_config', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'abq-load-any-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', quantization_config: { quant_method: 'test-method-x' } }));

  it('names the method and the registered loaders when none fits', async () => {
    await expect(loadAnyModel(dir)).rejects.toThrow(/quant_method|names method 'test-method-x', and no loader is registered/);
  });

  it('hands the folder and config to the registered loader', async () => {
    registerModelLoader('test-method-x', async (d, raw) => ({
      dir: d,
      rawConfig: raw,
      config: { maxPositionEmbeddings: 64 } as never,
      model: { newCache: () => null, forward: () => new Float32Array(0) },
      description: 'test loader',
    }));
    expect(registeredModelLoaders()).toContain('test-method-x');
    const loaded = await loadAnyModel(dir);
    expect(loaded.description).toBe('test loader');
    expect(loaded.dir).toBe(dir);
  });

  it('says when the folder has no config.json', async () => {
    await expect(loadAnyModel(path.join(dir, 'missing'))).rejects.toThrow(/cannot read .*config\.json \(is .* a model folder\?\)/);
  });

  it('defaults seqlen to the context, capped at 2048', () => {
    expect(defaultSeqlen({ maxPositionEmbeddings: 512 })).toBe(512);
    expect(defaultSeqlen({ maxPositionEmbeddings: 4096 })).toBe(2048);
  });
});

describeWithShared('loadAnyModel on a float folder', () => {
  it('loads stories260K with the reference forward', async () => {
    const loaded = await loadAnyModel(STORIES260K_DIR!);
    expect(loaded.description).toMatch(/float/);
    expect(loaded.config.maxPositionEmbeddings).toBe(512);
    const logits = loaded.model.forward([1, 403], loaded.model.newCache(8), { allLogits: true });
    expect(logits).toHaveLength(2 * 512);
  });
});

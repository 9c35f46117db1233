import { describe, expect, it } from 'vitest';
import { engineTable } from '../../../scripts/gpu/engine-bench-table.ts';

function row(config: string, b1: number, b32: number, extra: Record<string, unknown> = {}) {
  return {
    config, dense: config === 'fp16' ? 'cuBLAS' : '-', description: '', weightGB: 2.5, kvGB: 48.8, workspaceGB: 0.5, numBlocks: 5800,
    streamBytes: 1.89e9, copyBW: 3e12, bwShareB1: 0.26, graphs: 4,
    decode_b1_tps: b1, decode_b8_tps: 8 * b1 * 0.6, decode_b32_tps: b32, decode_b64_tps: b32 * 1.2,
    prefill_512_tps: 6600, prefill_2048_tps: 3900, prefill_512_ms: 77, prefill_2048_ms: 525, ...extra,
  };
}

describe('GPU engine benchmark table', () => {
  it('prints every config against the fp16 row and judges the targets', () => {
    const md = engineTable([row('W2A8', 414, 5006), row('W4A16 g128', 650, 3000), row('fp16', 160, 3802)]);
    expect(md).toContain('| W2A8 | 414 | 1987 | 5006 | 6007 | 12.1x | 6600 | 3900 | 77.0 | 525.0 | 2.50 | 48.8 (5800) | 0.50 | 1.89 GB | 26% | 2.59x |');
    expect(md).toContain('| fp16 (cuBLAS) | 160 |');
    expect(md).toContain('- W2A8: b32/b1 12.1x (target >= 8x: met); b1 414 tok/s (target >= 1000: missed)');
    expect(md).toContain('- W4A16 g128: b32/b1 4.6x (target >= 8x: missed); b1 650 tok/s (target >= 600: met)');
    expect(md).not.toContain('- fp16:');
  });

  it('shows a dash for figures a run did not measure', () => {
    const md = engineTable([row('W4A4', 344, 4853, { decode_b64_tps: undefined, prefill_2048_tps: Number.NaN })]);
    expect(md).toMatch(/\| W4A4 \| 344 \| \d+ \| 4853 \| - \| 14\.1x \| 6600 \| - \|/);
  });
});

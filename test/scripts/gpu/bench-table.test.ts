import { describe, expect, it } from 'vitest';
import { buildReport } from '../../../scripts/gpu/bench-table.ts';

const header = { device: 'Test GPU', sm: 132, copyBytesPerSec: 3e12, runtime: 13000, driver: 13000 };
function row(m: number, totalUs: number, gemmUs: number, config = 'W4A8', p = 4, q = 8) {
  return { n: 8192, k: 8192, m, config, p, q, group: 0, plan: 'x', quantUs: totalUs - gemmUs, gemmUs, totalUs, iters: 10, weightBytes: (p * 8192 * 8192) / 8 };
}

describe('GPU bench report', () => {
  it('computes bandwidth share, small-batch ratio and int8 speedup, with verdicts', () => {
    // 33.5 MB in 13.4 us = 2.5 TB/s = 83% of 3 TB/s: below the 85% target.
    const bench = [header, row(1, 20, 13.4), row(16, 24, 20), row(2048, 400, 390)];
    const base = [1, 16, 2048].map((m) => ({ n: 8192, k: 8192, m, fp16Us: 50, int8Us: m === 2048 ? 300 : 30, int8M: Math.max(m, 17) }));
    const { summary, markdown } = buildReport(bench, base, 'cmd', '2026-01-01');
    expect(summary).toContain('| W4A8 | 83% | not met | 1.20x met | 0.75x not met |');
    expect(markdown).toContain('Command: `cmd`. Machine: Test GPU');
    expect(markdown).toMatch(/\| 8192x8192 \| 1 \| W4A8 \| x \| 6\.6 \| 13\.4 \| 20\.0 \| 2504 \| 83% \|/);
  });

  it('refuses output without the device header line', () => {
    expect(() => buildReport([row(1, 20, 13)], [], 'cmd', 'd')).toThrow(/no device header/);
  });
});

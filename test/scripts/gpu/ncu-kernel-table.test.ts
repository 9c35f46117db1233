import { describe, expect, it } from 'vitest';
import { parseLaunches, shortName, summarizeLastStep } from '../../../scripts/gpu/ncu-kernel-table.ts';

const HEADER = '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"';
function row(id: number, kernel: string, grid: string, metric: string, unit: string, value: string): string {
  return [id, 1, 'abq-engine-bench', 'host', kernel, 1, 13, '(256, 1, 1)', grid, 0, '9.0', 'Command line profiler metrics', metric, unit, value]
    .map((v) => `"${String(v).replace(/"/g, '""')}"`).join(',');
}
const EMBED = 'abq::engine::<unnamed>::embedKernel(const float *, const int *, int, float *)';
const GEMV = 'void abq::btcDecodeKernel<2, 8>(abq::BtcArgs)';
const PREP = 'abq::engine::<unnamed>::prepKernel(abq::engine::PrepSource, abq::engine::PrepTarget, int, int)';

describe('ncu per-kernel table', () => {
  const csv = [
    '==PROF== Connected to process 1',
    HEADER,
    row(0, EMBED, '(1, 1, 1)', 'gpu__time_duration.sum', 'usecond', '99'),  // a first step, ignored
    row(1, EMBED, '(1, 1, 1)', 'gpu__time_duration.sum', 'nsecond', '2,000'),
    row(2, PREP, '(8, 1, 1)', 'gpu__time_duration.sum', 'usecond', '10'),
    row(2, PREP, '(8, 1, 1)', 'smsp__inst_executed.sum', 'inst', '158640'),
    row(3, GEMV, '(1, 172, 2)', 'gpu__time_duration.sum', 'usecond', '12'),
    row(4, PREP, '(8, 1, 1)', 'gpu__time_duration.sum', 'usecond', '8'),
    row(5, GEMV, '(1, 96, 2)', 'gpu__time_duration.sum', 'msecond', '0.008'),
  ].join('\n');

  it('shortens kernel names but keeps template arguments', () => {
    expect(shortName(GEMV)).toBe('btcDecodeKernel<2, 8>');
    expect(shortName(PREP)).toBe('prepKernel');
  });

  it('reads durations in any unit and groups the last step by kernel and grid', () => {
    const launches = parseLaunches(csv);
    expect(launches.map((l) => l.us)).toEqual([99, 2, 10, 12, 8, 8]);
    const s = summarizeLastStep(launches, 1);
    expect(s.launches).toHaveLength(5);
    expect(s.totalUs).toBeCloseTo(40, 9);
    const prep = s.groups.find((g) => g.key.startsWith('prepKernel'));
    expect(prep).toMatchObject({ launches: 2, meanUs: 9, totalUs: 18 });
    expect(prep?.share).toBeCloseTo(0.45, 9);
    expect(s.groups[0].key).toBe('prepKernel grid (8, 1, 1) block (256, 1, 1)');
  });

  it('names what is wrong with a file that is not an engine step profile', () => {
    expect(() => parseLaunches('no rows here')).toThrow(/no CSV rows/);
    expect(() => parseLaunches(`${HEADER}\n${row(1, EMBED, '(1, 1, 1)', 'gpu__time_duration.sum', 'fortnight', '1')}`)).toThrow(/unknown time unit "fortnight"/);
    expect(() => summarizeLastStep(parseLaunches(`${HEADER}\n${row(1, GEMV, '(1, 1, 1)', 'gpu__time_duration.sum', 'usecond', '1')}`), 1)).toThrow(/no embedKernel/);
  });
});

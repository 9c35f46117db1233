import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeAccuracyDoc, type AccuracyRecord, type DocInfo } from '../../../scripts/lib/accuracy-doc.ts';
import { accuracyJobs } from '../../../scripts/lib/accuracy-jobs.ts';
import { largestIntDelta, missingRows, recordLookup, remakeSummary } from '../../../scripts/lib/accuracy-summary.ts';

const INFO: DocInfo = { machine: 'test machine', notes: ['a note on the run'], evalStories: 500, wikiTokens: 32768, calib: { nsamples: 32, seqlen: 256, seed: 0 }, calibSkip: 500 };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'abq-accuracy-doc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A full set of records: RTN at ppl 10, calibrated methods at 9 except omniquant W2A16 at 11. */
function completeRecords(): AccuracyRecord[] {
  const recs: AccuracyRecord[] = [];
  for (const j of accuracyJobs()) {
    const ppl = j.method === 'fp' ? 5 : j.method === 'rtn' || j.method === 'flexq' ? 10 : j.id === 'omniquant-w2a16' ? 11 : 9;
    recs.push({ job: j.id, metric: 'quant', ppl, seconds: j.method === 'rtn' ? 0.1 : 100, bytes: 2048, nsamples: 32, epochs: 10 });
    recs.push({ job: j.id, metric: 'wiki', ppl: ppl * 10 });
    if (j.method !== 'fp') recs.push({ job: j.id, metric: 'int', ppl: ppl * 1.0002, simPpl: ppl });
  }
  // The worst integer-path difference, and a rerun that supersedes an earlier record.
  recs.push({ job: 'abq-w4a4', metric: 'int', ppl: 9.0072, simPpl: 9 });
  return recs;
}

async function render(records: AccuracyRecord[], name: string): Promise<string> {
  const file = path.join(tmp, name);
  await writeAccuracyDoc(records, INFO, file);
  return readFileSync(file, 'utf8');
}

describe('accuracy page', () => {
  it('says "Complete run" and no "Partial" when every row has all three figures', async () => {
    const md = await render(completeRecords(), 'complete.md');
    expect(md).toContain('Complete run');
    expect(md).not.toMatch(/Partial/);
    expect(md).toContain('Machine: test machine.');
    expect(md).toContain('- a note on the run');
  });

  it('states the largest integer-vs-simulated difference and the 0.1% bound, from the last record of a job', async () => {
    const md = await render(completeRecords(), 'complete-int.md');
    expect(md).toMatch(/41 folders compared; the largest relative difference is 0\.080% \(W4A4 abq\), within the 0\.1% bound/);
    expect(md).toContain('| W4A4 | abq | 9.0000 | 9.0072 (sim 9.0000) | 0.080% |');
  });

  it('lists calibrated rows that do not beat RTN, marking low-bit ones as expected to', async () => {
    const md = await render(completeRecords(), 'complete-rtn.md');
    expect(md).toContain('do not beat RTN on TinyStories: W2A16 omniquant (11.0000 vs 10.0000).');
    expect(md).toContain('| W2A16 | omniquant | 11.0000 |');
    expect(md).toMatch(/\| W2A16 \| omniquant \| 110\.0000 \| [0-9.]+% \| no \(expected yes\) \|/);
    expect(md).toMatch(/\| W2A16 \| abq \| 90\.0000 \| [0-9.]+% \| yes \|/);
  });

  it('names exactly the rows a partial run lacks', async () => {
    const recs = completeRecords().filter((r) => !(r.metric === 'wiki' && r.job.endsWith('-w4a16g32')) && !(r.metric === 'int' && r.job === 'abq-w2a8'));
    const md = await render(recs, 'partial.md');
    expect(md).toContain('**Partial run**');
    expect(md).toContain('integer path: 1 of 41 (W2A8 abq)');
    expect(md).toContain('WikiText-2: 4 of 42 (W4A16 g32 rtn, W4A16 g32 omniquant, W4A16 g32 affinequant, W4A16 g32 abq)');
    expect(md).toMatch(/\| W4A16 g32 \| abq \| - \| - \| - \|/);
  });

  it('reports re-made folders: checked ones with their agreement, unchecked ones by name', async () => {
    const recs: AccuracyRecord[] = [
      ...completeRecords(),
      { job: 'omniquant-w4a8', metric: 'repack', ppl: 4.456, recordedPpl: 4.456, seconds: 200, resumed: true },
      { job: 'abq-w2a8', metric: 'repack', recordedPpl: 340.98, seconds: 20 },
    ];
    const md = await render(recs, 'repack.md');
    expect(md).toContain('2 packed folders that had not been kept were re-made');
    expect(md).toContain('1 was checked against their recorded TinyStories perplexity: all identical to the last bit (omniquant-w4a8)');
    expect(md).toContain('Not checked (the 500-story evaluation was skipped for time): abq-w2a8.');
    expect(remakeSummary(recs)).toEqual({ checked: [{ job: 'omniquant-w4a8', ppl: 4.456, recorded: 4.456 }], unchecked: ['abq-w2a8'] });
  });

  it('never counts a re-make record (no perplexity) as a measurement', () => {
    const get = recordLookup([{ job: 'abq-w2a8', metric: 'repack', recordedPpl: 1 }]);
    expect(get('abq-w2a8', 'repack')).toBeUndefined();
    expect(missingRows(get).int).toHaveLength(41);
    expect(largestIntDelta(get)).toBeUndefined();
  });
});

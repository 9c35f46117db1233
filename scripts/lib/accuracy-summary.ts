/**
 * What the accuracy page says about its own records: which rows each column still lacks, how far the
 * integer path is from the simulated one, whether re-made packed folders reproduced their recorded
 * perplexity, and where a calibrated method does not beat RTN. Computed from the records only, so the
 * page never states a figure that the results file does not hold.
 */
import { accuracyJobs, type AccuracyJob } from './accuracy-jobs.ts';
import { methodTraits } from '../../shared/quant/methods.ts';
import type { AccuracyRecord } from './accuracy-doc.ts';

/** The issue's bound on |integer - simulated| / simulated perplexity. */
export const INT_SIM_BOUND = 0.001;

export type Measured = AccuracyRecord & { ppl: number };
export type RecordLookup = (job: string, metric: AccuracyRecord['metric']) => Measured | undefined;

/** The last record with a perplexity for (job, metric): a rerun supersedes earlier lines. */
export function recordLookup(records: AccuracyRecord[]): RecordLookup {
  return (job, metric) => records.filter((r): r is Measured => r.job === job && r.metric === metric && r.ppl !== undefined).pop();
}

export const jobLabel = (j: AccuracyJob): string => (j.config ? `${j.config.label} ${j.method}` : 'full precision');

export interface MissingRows { quant: AccuracyJob[]; int: AccuracyJob[]; wiki: AccuracyJob[] }

/** Table rows (full precision included where the page shows it: TinyStories and WikiText) without a figure. */
export function missingRows(get: RecordLookup, jobs = accuracyJobs()): MissingRows {
  const lacks = (m: AccuracyRecord['metric']) => jobs.filter((j) => !(j.method === 'fp' && m === 'int') && !get(j.id, m));
  return { quant: lacks('quant'), int: lacks('int'), wiki: lacks('wiki') };
}

export const relDelta = (r: Measured): number | undefined => (r.simPpl ? (r.ppl - r.simPpl) / r.simPpl : undefined);

/** The integer-path record farthest from its simulated twin. */
export function largestIntDelta(get: RecordLookup, jobs = accuracyJobs()): { job: AccuracyJob; delta: number; count: number } | undefined {
  let worst: { job: AccuracyJob; delta: number } | undefined;
  let count = 0;
  for (const j of jobs) {
    const r = get(j.id, 'int');
    const d = r && relDelta(r);
    if (d === undefined) continue;
    count++;
    if (!worst || Math.abs(d) > Math.abs(worst.delta)) worst = { job: j, delta: d };
  }
  return worst && { ...worst, count };
}

export interface RemakeSummary { checked: { job: string; ppl: number; recorded: number }[]; unchecked: string[] }

/** Re-made packed folders: those checked against their quant record's TinyStories perplexity, and the rest. */
export function remakeSummary(records: AccuracyRecord[]): RemakeSummary {
  const checked: RemakeSummary['checked'] = [];
  const unchecked: string[] = [];
  for (const r of records) {
    if (r.metric !== 'repack') continue;
    if (r.ppl !== undefined && r.recordedPpl !== undefined) checked.push({ job: r.job, ppl: r.ppl, recorded: r.recordedPpl });
    else unchecked.push(r.job);
  }
  return { checked, unchecked: unchecked.filter((j) => !checked.some((c) => c.job === j)) };
}

/** "yes" / "no" / "no (expected yes)" for a calibrated method against RTN of the same configuration. */
export function beatsRtn(get: RecordLookup, j: AccuracyJob, metric: 'quant' | 'wiki'): string {
  if (!j.config || !methodTraits(j.method).calibrated) return '';
  const r = get(j.id, metric)?.ppl, rtn = get(`rtn-${j.config.id}`, metric)?.ppl;
  if (r === undefined || rtn === undefined) return '-';
  return r < rtn ? 'yes' : j.config.lowBit ? 'no (expected yes)' : 'no';
}

/** Calibrated rows that do not beat RTN, as "config method (ppl vs rtn)". */
export function notBeatingRtn(get: RecordLookup, metric: 'quant' | 'wiki', jobs = accuracyJobs()): string[] {
  return jobs.filter((j) => beatsRtn(get, j, metric).startsWith('no')).map((j) => `${jobLabel(j)} (${fmtPpl(get(j.id, metric)!.ppl)} vs ${fmtPpl(get(`rtn-${j.config!.id}`, metric)!.ppl)})`);
}

export const fmtPpl = (v?: number): string => (v === undefined ? '-' : v >= 1000 ? v.toExponential(2) : v.toFixed(4));

/** "1 folder" / "3 folders". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

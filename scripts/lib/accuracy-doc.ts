/** Builds docs/ACCURACY.md from the accuracy bench's result records. */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { machineLine } from './bench-doc.ts';
import { accuracyJobs, type AccuracyJob } from './accuracy-jobs.ts';
import { INT_SIM_BOUND, beatsRtn, fmtPpl, jobLabel, largestIntDelta, missingRows, notBeatingRtn, plural, recordLookup, relDelta, remakeSummary, type Measured, type RecordLookup } from './accuracy-summary.ts';
import { methodTraits } from '../../shared/quant/methods.ts';

export const ACCURACY_MD = fileURLToPath(new URL('../../docs/ACCURACY.md', import.meta.url));

export interface AccuracyRecord {
  job: string; metric: 'quant' | 'int' | 'wiki' | 'repack'; ppl?: number; simPpl?: number;
  /** repack: the perplexity of the quant record the re-made folder had to reproduce (ppl is undefined when not checked). */
  recordedPpl?: number; seconds?: number; bytes?: number; epochs?: number; nsamples?: number;
  label?: string; fellBack?: number[]; flexqLayers?: string[]; resumed?: boolean;
}

export interface DocInfo { notes?: string[]; machine?: string; evalStories: number; wikiTokens: number; calib: { nsamples: number; seqlen: number; seed: number }; calibSkip: number }

/**
 * Calibrated jobs that finished from block checkpoints after a time limit cut them off report only the
 * resumed part; their end-to-end time was not measured. (Records before the resumed flag existed: every
 * calibrated 16-sample job of the first full run was resumed.)
 */
function timeCell(method: string, q?: AccuracyRecord): string {
  if (!q || q.seconds === undefined) return '-';
  const resumed = q.resumed ?? (methodTraits(method).calibrated && q.nsamples === 16);
  return resumed ? `n/a (resumed; ${q.seconds.toFixed(0)} s after resume)` : `${q.seconds.toFixed(1)} s`;
}

/** The status line: complete, or exactly which rows each column lacks. */
function statusLines(get: RecordLookup, jobs: AccuracyJob[], hasNotes: boolean): string[] {
  const missing = missingRows(get, jobs);
  const parts = ([['TinyStories', missing.quant], ['integer path', missing.int], ['WikiText-2', missing.wiki]] as const)
    .filter(([, rows]) => rows.length).map(([col, rows]) => `${col}: ${rows.length} of ${jobs.length - (col === 'integer path' ? 1 : 0)} (${rows.map(jobLabel).join(', ')})`);
  return parts.length ? [`**Partial run**: rows without a figure (shown as -): ${parts.join('; ')}.${hasNotes ? ' "About this run" says why.' : ''}`] : ['Complete run: every row has its TinyStories, integer-path and WikiText-2 figure.'];
}

function summaryLines(records: AccuracyRecord[], get: RecordLookup, jobs: AccuracyJob[]): string[] {
  const out: string[] = [];
  const worst = largestIntDelta(get, jobs);
  if (worst) {
    const within = Math.abs(worst.delta) <= INT_SIM_BOUND;
    out.push(`- Integer path vs simulated path (same packed folder, first 100 stories): ${plural(worst.count, 'folder')} compared; the largest relative difference is ${(worst.delta * 100).toFixed(3)}% (${jobLabel(worst.job)}), ${within ? 'within' : 'OUTSIDE'} the ${(INT_SIM_BOUND * 100).toFixed(1)}% bound.`);
  }
  const re = remakeSummary(records);
  if (re.checked.length || re.unchecked.length) {
    const exact = re.checked.filter((c) => c.ppl === c.recorded).length;
    const maxRel = Math.max(0, ...re.checked.map((c) => Math.abs(c.ppl - c.recorded) / c.recorded));
    out.push(`- Determinism: ${plural(re.checked.length + re.unchecked.length, 'packed folder')} that had not been kept ${re.checked.length + re.unchecked.length === 1 ? 'was' : 'were'} re-made from the settings in their quant records (samples, epochs; seed 0).` +
      (re.checked.length ? ` ${re.checked.length} ${re.checked.length === 1 ? 'was' : 'were'} checked against their recorded TinyStories perplexity: ${exact === re.checked.length ? 'all identical to the last bit' : `${exact} identical, largest relative difference ${maxRel.toExponential(2)}`} (${re.checked.map((c) => c.job).join(', ')}).` : '') +
      (re.unchecked.length ? ` Not checked (the 500-story evaluation was skipped for time): ${re.unchecked.join(', ')}.` : ''));
  }
  for (const [metric, name] of [['quant', 'TinyStories'], ['wiki', 'WikiText-2']] as const) {
    const rows = notBeatingRtn(get, metric, jobs);
    out.push(`- Calibrated rows that do not beat RTN on ${name}: ${rows.length ? rows.join('; ') : 'none'}.`);
  }
  return out.length ? ['## Summary', '', ...out, ''] : [];
}

export async function writeAccuracyDoc(records: AccuracyRecord[], info: DocInfo, file = ACCURACY_MD): Promise<void> {
  const get = recordLookup(records);
  const jobs = accuracyJobs();
  const fp = get('fp', 'quant'), fpWiki = get('fp', 'wiki');
  const vsFp = (r?: Measured, base?: Measured) => (r && base ? `${(((r.ppl - base.ppl) / base.ppl) * 100).toFixed(1)}%` : '-');
  const lines = [
    '# Accuracy of the quantization methods (stories260K)', '',
    ...statusLines(get, jobs, !!info.notes?.length), '',
    `Command: \`npm run bench:accuracy\` (scripts/bench-accuracy.ts). Machine: ${info.machine ?? machineLine()}.`, '',
    `- Model: stories260K (dim 64, 5 blocks, GQA 8/4 heads), f32. All 35 block linears quantized; embeddings, norms and the tied lm_head stay f32.`,
    `- Evaluation: TinyStories validation, first ${info.evalStories} stories, shared/eval's stream protocol ([BOS]+story concatenated, 512-token windows). WikiText-2 test: GPTQ protocol (rows joined by blank lines, one BOS, non-overlapping 512-token windows), first ${info.wikiTokens} tokens.`,
    `- Calibration: ${info.calib.nsamples} random windows of ${info.calib.seqlen} tokens (seed ${info.calib.seed}) from stories ${info.calibSkip}..999 of the same file (never the evaluated stories); epochs per block: 2 at W8A8/W6A6, 10 below, except where the "calib" column (samples x epochs) shows a smaller budget. The same packed models are evaluated on WikiText (the papers calibrate on WikiText-2 train, which is not available here; stories260K knows only children's stories, so WikiText perplexities are high for every configuration and serve to compare methods only).`,
    '- "simulated": fake-quantized forward (dequantized weights, quantized-dequantized activations, f32 matmul). "integer": the written packed folder run through PackedLinearRef (bit planes, integer accumulators, group epilogue). The integer reference is slow, so both paths of each packed folder are compared on the first 100 stories (Δ = integer vs simulated there).',
    '- Activations are quantized dynamically per token (asymmetric); weights asymmetric per output channel unless a group is given (g32: groups of 32 along K, down_proj\'s K = 172 ends in a group of 12). W2* is ABQ\'s symmetric 5-level grid stored in 3 bit planes.',
    '- "beats RTN": expected (the papers report gains) for calibrated methods at low-bit weights and W4A4; "no (expected yes)" marks where this run does not reproduce that.',
    '- Size: bytes of the packed weights (bit planes, F16 scales, U8 zeros, biases) plus the f32 float tensors (embeddings 128 KiB of it).', '',
    ...summaryLines(records, get, jobs),
    ...(info.notes?.length ? ['## About this run', '', ...info.notes.map((n) => `- ${n}`), ''] : []),
    `Full precision: TinyStories ${fmtPpl(fp?.ppl)}, WikiText ${fmtPpl(fpWiki?.ppl)}.`, '',
    `## TinyStories (first ${info.evalStories} stories)`, '',
    '| config | method | ppl simulated | ppl integer (100 stories) | Δ int/sim (100 stories) | vs FP | beats RTN | calib | quant time | size |',
    '|---|---|---:|---:|---:|---:|---|---|---:|---:|',
  ];
  for (const j of jobs) {
    if (j.method === 'fp') continue;
    const q = get(j.id, 'quant'), i = get(j.id, 'int');
    const intCell = i ? `${fmtPpl(i.ppl)} (sim ${fmtPpl(i.simPpl)})` : '-';
    const d = i && relDelta(i);
    const note = q?.fellBack?.length ? ` (NaN fallback in blocks ${q.fellBack.join(',')})` : '';
    const calib = q && methodTraits(j.method).calibrated ? `${q.nsamples}x${q.epochs}` : '-';
    lines.push(`| ${j.config!.label} | ${j.method}${note} | ${fmtPpl(q?.ppl)} | ${intCell} | ${d === undefined ? '-' : `${(d * 100).toFixed(3)}%`} | ${vsFp(q, fp)} | ${beatsRtn(get, j, 'quant')} | ${calib} | ${timeCell(j.method, q)} | ${q?.bytes ? (q.bytes / 1024).toFixed(0) + ' KiB' : '-'} |`);
  }
  const flex = records.find((r) => r.job.startsWith('flexq-') && r.metric === 'quant');
  if (flex?.flexqLayers) lines.push('', `FlexQ kept A8 on: ${flex.flexqLayers.join(', ')} (budget 10% of layers, ranked by the drop in calibration loss when that layer alone is at A8; its calibration data is ${flex.nsamples} samples for the sensitivity analysis).`);
  lines.push('', `## WikiText-2 (test, first ${info.wikiTokens} tokens, same packed models)`, '', '| config | method | ppl | vs FP | beats RTN |', '|---|---|---:|---:|---|');
  for (const j of jobs) {
    if (j.method === 'fp') continue;
    const w = get(j.id, 'wiki');
    lines.push(`| ${j.config!.label} | ${j.method} | ${fmtPpl(w?.ppl)} | ${vsFp(w, fpWiki)} | ${beatsRtn(get, j, 'wiki')} |`);
  }
  lines.push('', '## Methods', '', ...[...new Set(jobs.filter((j) => j.method !== 'fp').map((j) => j.method))].map((m) => `- **${m}**: ${methodTraits(m).summary} (${methodTraits(m).paper}). See docs/QUANTIZATION.md.`), '');
  await writeFile(file, lines.join('\n'));
}

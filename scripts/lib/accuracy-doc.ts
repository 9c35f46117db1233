/** Builds docs/ACCURACY.md from the accuracy bench's result records. */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { machineLine } from './bench-doc.ts';
import { accuracyJobs } from './accuracy-jobs.ts';
import { methodTraits } from '../../shared/quant/methods.ts';

export const ACCURACY_MD = fileURLToPath(new URL('../../docs/ACCURACY.md', import.meta.url));

export interface AccuracyRecord {
  job: string; metric: 'quant' | 'int' | 'wiki'; ppl: number; simPpl?: number; seconds?: number; bytes?: number; epochs?: number; nsamples?: number;
  label?: string; fellBack?: number[]; flexqLayers?: string[]; resumed?: boolean;
}

export interface DocInfo { notes?: string[]; machine?: string; partial: boolean; evalStories: number; wikiTokens: number; calib: { nsamples: number; seqlen: number; seed: number }; calibSkip: number }

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

const f4 = (v?: number) => (v === undefined ? '-' : v >= 1000 ? v.toExponential(2) : v.toFixed(4));

export async function writeAccuracyDoc(records: AccuracyRecord[], info: DocInfo, file = ACCURACY_MD): Promise<void> {
  const get = (job: string, metric: string) => records.filter((r) => r.job === job && r.metric === metric).pop();
  const jobs = accuracyJobs();
  const fp = get('fp', 'quant'), fpWiki = get('fp', 'wiki');
  const missing = jobs.filter((j) => !get(j.id, 'quant')).length;
  const lines = [
    '# Accuracy of the quantization methods (stories260K)', '',
    missing ? `**Partial run**: ${missing} of ${jobs.length} jobs have no TinyStories result yet (shown as -).` : info.partial ? '**Partial run**: the TinyStories perplexities are complete; the integer-path and WikiText columns were measured only where shown (the rest is -).' : 'Complete run.', '',
    `Command: \`npm run bench:accuracy\` (scripts/bench-accuracy.ts). Machine: ${info.machine ?? machineLine()}.`, '',
    `- Model: stories260K (dim 64, 5 blocks, GQA 8/4 heads), f32. All 35 block linears quantized; embeddings, norms and the tied lm_head stay f32.`,
    `- Evaluation: TinyStories validation, first ${info.evalStories} stories, shared/eval's stream protocol ([BOS]+story concatenated, 512-token windows). WikiText-2 test: GPTQ protocol (rows joined by blank lines, one BOS, non-overlapping 512-token windows), first ${info.wikiTokens} tokens.`,
    `- Calibration: ${info.calib.nsamples} random windows of ${info.calib.seqlen} tokens (seed ${info.calib.seed}) from stories ${info.calibSkip}..999 of the same file (never the evaluated stories); epochs per block: 2 at W8A8/W6A6, 10 below, except where the "calib" column shows a smaller budget (samples x epochs; those jobs ran with 16 samples and 5 epochs to fit the time available). The same packed models are evaluated on WikiText (the papers calibrate on WikiText-2 train, which is not available here; stories260K knows only children's stories, so WikiText perplexities are high for every configuration and serve to compare methods only).`,
    '- "simulated": fake-quantized forward (dequantized weights, quantized-dequantized activations, f32 matmul). "integer": the written packed folder run through PackedLinearRef (bit planes, integer accumulators, group epilogue). The integer reference is slow, so both paths of each packed folder are compared on the first 100 stories (Δ = integer vs simulated there); "-" means not measured in this run.',
    '- Activations are quantized dynamically per token (asymmetric); weights asymmetric per output channel unless a group is given (g32: groups of 32 along K, down_proj\'s K = 172 ends in a group of 12). W2* is ABQ\'s symmetric 5-level grid stored in 3 bit planes.',
    '- "beats RTN": expected (the papers report gains) for calibrated methods at low-bit weights and W4A4; "no (expected yes)" marks where this run does not reproduce that.',
    '- Size: bytes of the packed weights (bit planes, F16 scales, U8 zeros, biases) plus the f32 float tensors (embeddings 128 KiB of it).', '',
    ...(info.notes?.length ? ['## About this run', '', ...info.notes.map((n) => `- ${n}`), ''] : []),
    `Full precision: TinyStories ${f4(fp?.ppl)}, WikiText ${f4(fpWiki?.ppl)}.`, '',
    '## TinyStories (first 500 stories)', '',
    '| config | method | ppl simulated | ppl integer (100 stories) | Δ int/sim (100 stories) | vs FP | beats RTN | calib | quant time | size |',
    '|---|---|---:|---:|---:|---:|---|---|---:|---:|',
  ];
  const beats = (jobId: string, method: string, cfgId: string, lowBit: boolean, metric: 'quant' | 'wiki') => {
    if (method === 'rtn' || method === 'flexq') return '';
    const r = get(jobId, metric)?.ppl, rtn = get(`rtn-${cfgId}`, metric)?.ppl;
    if (r === undefined || rtn === undefined) return '-';
    const yes = r < rtn;
    return yes ? 'yes' : lowBit ? 'no (expected yes)' : 'no';
  };
  for (const j of jobs) {
    if (j.method === 'fp') continue;
    const q = get(j.id, 'quant'), i = get(j.id, 'int');
    const intCell = i ? `${f4(i.ppl)} (sim ${f4(i.simPpl)})` : '-';
    const delta = i?.simPpl ? `${(((i.ppl - i.simPpl) / i.simPpl) * 100).toFixed(3)}%` : '-';
    const vsFp = q && fp ? `${(((q.ppl - fp.ppl) / fp.ppl) * 100).toFixed(1)}%` : '-';
    const note = q?.fellBack?.length ? ` (NaN fallback in blocks ${q.fellBack.join(',')})` : '';
    lines.push(`| ${j.config!.label} | ${j.method}${note} | ${f4(q?.ppl)} | ${intCell} | ${delta} | ${vsFp} | ${beats(j.id, j.method, j.config!.id, j.config!.lowBit, 'quant')} | ${q && q.seconds! > 1 ? `${q.nsamples}x${q.epochs}` : '-'} | ${timeCell(j.method, q)} | ${q?.bytes ? (q.bytes / 1024).toFixed(0) + ' KiB' : '-'} |`);
  }
  const flex = records.find((r) => r.job.startsWith('flexq-') && r.metric === 'quant');
  if (flex?.flexqLayers) lines.push('', `FlexQ kept A8 on: ${flex.flexqLayers.join(', ')} (budget 10% of layers, ranked by the drop in calibration loss when that layer alone is at A8).`);
  lines.push('', '## WikiText-2 (test, first tokens, same packed models)', '', '| config | method | ppl | vs FP | beats RTN |', '|---|---|---:|---:|---|');
  for (const j of jobs) {
    if (j.method === 'fp') continue;
    const w = get(j.id, 'wiki');
    lines.push(`| ${j.config!.label} | ${j.method} | ${f4(w?.ppl)} | ${w && fpWiki ? `${(((w.ppl - fpWiki.ppl) / fpWiki.ppl) * 100).toFixed(1)}%` : '-'} | ${beats(j.id, j.method, j.config!.id, j.config!.lowBit, 'wiki')} |`);
  }
  lines.push('', '## Methods', '', ...[...new Set(jobs.filter((j) => j.method !== 'fp').map((j) => j.method))].map((m) => `- **${m}**: ${methodTraits(m).summary} (${methodTraits(m).paper}). See docs/QUANTIZATION.md.`), '');
  await writeFile(file, lines.join('\n'));
}
